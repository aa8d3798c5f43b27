import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { runCli, startServer, type RunningServer } from '../../../support/cli.ts';
import { JWT_AUDIENCE, startTestIssuer, type TestIssuer } from './support/oidc-issuer.ts';

const SECRET = 'a-client-secret-of-sufficient-length';

describe('arbiter login', () => {
  let dir: string;
  let idp: TestIssuer;
  let server: RunningServer;
  let serverLog = '';
  const cache = () => path.join(dir, 'config', 'tokens.json');
  const env = () => ({ ARBITER_TOKEN_CACHE: cache(), ARBITER_TOKEN: undefined, ARBITER_SERVER: undefined });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-login-'));
    idp = await startTestIssuer([
      { clientId: 'ops-bot', clientSecret: SECRET, claims: { groups: ['arbiter-admins'] } },
    ]);
    const oidcFile = path.join(dir, 'oidc.yaml');
    await writeFile(
      oidcFile,
      toYaml({
        issuers: [
          {
            issuer: idp.issuer,
            audience: JWT_AUDIENCE,
            rules: [{ claims: { groups: 'arbiter-admins' }, role: 'admin' }],
          },
        ],
      }),
    );
    server = await startServer(['--data-dir', path.join(dir, 'data')], { ARBITER_OIDC_CONFIG: oidcFile });
    server.process.stdout!.on('data', (d) => (serverLog += d));
  });
  afterAll(async () => {
    await server?.stop();
    await idp?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('without a login, a --server call is refused', async () => {
    const r = await runCli(['token', 'list', '--server', server.url], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('(401)');
  });

  it('caches a client-credentials token (mode 0600) that later --server calls use', async () => {
    const login = await runCli(
      [
        'login',
        '--server',
        `${server.url}/`,
        '--issuer',
        idp.issuer,
        '--client-id',
        'ops-bot',
        '--resource',
        JWT_AUDIENCE,
      ],
      { ...env(), ARBITER_OIDC_CLIENT_SECRET: SECRET },
    );
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    expect(login.stdout).toContain(cache());
    expect((await stat(cache())).mode & 0o777).toBe(0o600);
    const cached = JSON.parse(await readFile(cache(), 'utf8'));
    const token = cached.servers[server.url].access_token as string;
    expect(token.split('.')).toHaveLength(3);
    expect(login.stdout).not.toContain(token);

    const list = await runCli(['token', 'list', '--server', server.url], env());
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('initial admin');
  });

  it('logs each refusal with its reason, and never a token', async () => {
    const forged = `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ iss: 'https://evil.example', sub: 'x', exp: 4e9 }),
    ).toString('base64url')}.c2ln`;
    const r = await fetch(`${server.url}/v1/models`, { headers: { authorization: `Bearer ${forged}` } });
    expect(r.status).toBe(401);
    await expect.poll(() => serverLog).toContain('JWT from unknown issuer \\"https://evil.example\\"');
    expect(serverLog).toContain('request refused');
    expect(serverLog).not.toContain(forged.split('.')[1]);
    const cached = JSON.parse(await readFile(cache(), 'utf8'));
    expect(serverLog).not.toContain(cached.servers[server.url].access_token.split('.')[2]);
  });

  it('never sends the cached token to another server', async () => {
    const r = await runCli(['token', 'list', '--server', 'http://127.0.0.1:9'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot reach');
  });

  it('reports a refused login without caching anything new', async () => {
    const r = await runCli(
      ['login', '--server', 'http://127.0.0.1:1', '--issuer', idp.issuer, '--client-id', 'ops-bot'],
      { ...env(), ARBITER_OIDC_CLIENT_SECRET: 'wrong' },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/login at .* failed/);
    expect(Object.keys(JSON.parse(await readFile(cache(), 'utf8')).servers)).toEqual([server.url]);
  });
});
