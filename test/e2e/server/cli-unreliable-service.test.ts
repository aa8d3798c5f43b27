import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../../support/cli.ts';

// What stands between the CLI and Arbiter when it is misconfigured: a proxy that accepts connections and never
// answers, or a web server that answers something other than Arbiter's API. Neither is Arbiter: the CLI must
// say in one line what went wrong, and never take such an answer for a decision.

const TOKEN = 'arb_0123456789abcdefSECRET';

/** An error as the CLI must report it: one line on stderr, exit code 2, no stack trace, never the token. */
function expectOneLineError(result: CliResult, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr, result.stderr).toMatch(/^arbiter: [^\n]*\n$/);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toContain(TOKEN);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

const listen = (server: net.Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`),
    ),
  );

describe('the CLI against a service that does not answer as Arbiter does', () => {
  let dir: string;
  let evidence: string;
  /** Accepts connections and never answers. */
  let silent: net.Server;
  let silentUrl: string;
  const sockets: net.Socket[] = [];
  /** A port nothing listens on. */
  let refusedUrl: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-unreliable-'));
    evidence = path.join(dir, 'evidence.json');
    await writeFile(evidence, JSON.stringify({ schema: 'arbiter.evidence/v1' }));
    silent = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
    });
    silentUrl = await listen(silent);
    const closed = net.createServer();
    refusedUrl = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const check = (server: string, extra: string[] = []) =>
    runCli([
      'check',
      '--server',
      server,
      '--token',
      TOKEN,
      '--region',
      'eu',
      '--stage',
      'deployment',
      '--name',
      'credit-scoring',
      '--version',
      '1.0.0',
      '--evidence',
      evidence,
      ...extra,
    ]);

  describe('that never answers', () => {
    it('gives up on the decision at --timeout, in one line naming it', async () => {
      const started = Date.now();
      const result = await check(silentUrl, ['--timeout', '2']);
      expectOneLineError(
        result,
        /^arbiter: POST \/v1\/decisions: http:\/\/127\.0\.0\.1:\d+ did not answer before the deadline \(--timeout 2\); the decision may have been recorded/,
      );
      // Node's start and the CLI's imports take a few seconds of it; fetch alone would have waited 300 s.
      expect(Date.now() - started).toBeLessThan(30_000);
    });

    it('gives up waiting for a policy commit at --timeout', async () => {
      const result = await runCli([
        'policy',
        'status',
        '--wait',
        'abcdef1',
        '--timeout',
        '2',
        '--server',
        silentUrl,
        '--token',
        TOKEN,
      ]);
      expectOneLineError(
        result,
        /^arbiter: GET \/v1\/policies\/status\?commit=abcdef1: http:\/\/127\.0\.0\.1:\d+ did not answer before the deadline \(--timeout 2\)\n$/,
      );
    });

    it('says in the help how long a request may wait', async () => {
      const help = await runCli(['token', 'list', '--help']);
      expect(help.stdout).toContain(
        'With --server, each request to the service fails (exit 2) when it gets no answer within 120 s.',
      );
      expect((await runCli(['check', '--help'])).stdout).toContain('bounded by --timeout');
    });
  });

  describe('that cannot be reached', () => {
    it('names the cause: a refused connection', async () => {
      expectOneLineError(
        await check(refusedUrl),
        /^arbiter: cannot reach http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/,
      );
    });

    it('names the cause: a name that does not resolve', async () => {
      // .invalid never resolves (RFC 2606); a machine without DNS says EAI_AGAIN instead.
      expectOneLineError(
        await runCli(['token', 'list', '--server', 'http://arbiter.invalid', '--token', TOKEN]),
        /^arbiter: cannot reach http:\/\/arbiter\.invalid: getaddrinfo (ENOTFOUND|EAI_AGAIN) arbiter\.invalid\n$/,
      );
    });
  });

  describe('that answers, but not as Arbiter', () => {
    let garbage: http.Server;
    let garbageUrl: string;
    /** A receipt as Arbiter answers it, with `changes` made. */
    const receipt = (changes: Record<string, unknown>) =>
      JSON.stringify({
        decision_id: 'd-1',
        allow: true,
        deny: [],
        warn: [],
        waived: [],
        obligations: [],
        policy: { revision: 'r', bundle_sha256: 'abc' },
        ledger: { region: 'eu', seq: 1, leaf_hash: 'x' },
        ...changes,
      });
    const json = (status: number, body: string) => (_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(body);
    };
    /** What the fake server answers, by the first segment of its path (`/echo401/v1/...`). */
    const answers: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void> = {
      // A single sign-on proxy's login page, answered with 200.
      html200: (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>Login page</body></html>');
      },
      html502: (_req, res) => {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end(
          '<html><head><title>502 Bad Gateway</title></head>\n<body>\n<h1>502 Bad Gateway</h1>\n</body>\n</html>\n',
        );
      },
      empty200: (_req, res) => {
        res.writeHead(200);
        res.end();
      },
      obj200: json(200, '{}'),
      allowstr: json(201, receipt({ allow: 'false' })),
      nodeny: json(201, receipt({ deny: undefined })),
      allowed: json(201, receipt({ extra_field_of_a_newer_service: 1 })),
      denied: json(201, receipt({ allow: false })),
      echo401: (req, res) => {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            statusCode: 401,
            code: 'UNAUTHORIZED',
            message: `bad token ${req.headers.authorization}`,
          }),
        );
      },
    };

    beforeAll(async () => {
      garbage = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => answers[req.url!.split('/')[1]!]!(req, res));
      });
      garbageUrl = await listen(garbage);
    });
    afterAll(async () => {
      await new Promise((resolve) => garbage?.close(resolve));
    });

    it('says in one line that a 2xx answer is not JSON: a login page, an empty body', async () => {
      expectOneLineError(
        await check(`${garbageUrl}/html200`),
        /^arbiter: POST \/v1\/decisions answered 200 with text\/html, not Arbiter's JSON: is --server the Arbiter API/,
      );
      expectOneLineError(
        await check(`${garbageUrl}/empty200`),
        /^arbiter: POST \/v1\/decisions answered 200 with an empty body, not Arbiter's JSON/,
      );
    });

    it('quotes the head of an error page on one line', async () => {
      expectOneLineError(
        await check(`${garbageUrl}/html502`),
        /^arbiter: POST \/v1\/decisions failed \(502\) text\/html: <html><head><title>502 Bad Gateway<\/title><\/head> <body> <h1>502 Bad Gateway<\/h1> <\/body> <\/html>\n$/,
      );
    });

    it('takes no answer without the shape of a decision receipt for a decision', async () => {
      for (const [mode, problem] of [
        ['obj200', "the answer must have required property 'decision_id'"],
        ['allowstr', '/allow must be boolean'],
        ['nodeny', "the answer must have required property 'deny'"],
      ] as const) {
        const result = await check(`${garbageUrl}/${mode}`, ['--json']);
        expect(result.stdout, mode).toBe('');
        expectOneLineError(
          result,
          new RegExp(
            `^arbiter: POST /v1/decisions answered 20[01] with what is not a DecisionResult \\(openapi.yaml\\): ${problem}\n$`,
          ),
        );
      }
    });

    it('passes the gate only on "allow": true, whatever else a newer service adds', async () => {
      const allowed = await check(`${garbageUrl}/allowed`);
      expect(allowed.code, allowed.stderr).toBe(0);
      expect(allowed.stdout).toMatch(/^ALLOW {2}decision d-1\n/);
      const denied = await check(`${garbageUrl}/denied`);
      expect(denied.code, denied.stderr).toBe(1);
      expect(denied.stdout).toMatch(/^DENY {2}decision d-1\n/);
    });

    it('never repeats the token, even where the server quotes it back', async () => {
      expectOneLineError(
        await check(`${garbageUrl}/echo401`),
        /^arbiter: POST \/v1\/decisions failed \(401\) UNAUTHORIZED: bad token Bearer \*\*\*\n$/,
      );
    });
  });
});
