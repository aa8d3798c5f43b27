import { createPublicKey } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { base64url, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import {
  compositeAuthenticator,
  OidcAuthenticator,
  parseOidcSettings,
} from '../../../../server/auth/index.ts';
import { loadOpenApi, operationsOf } from '../../../../server/openapi.ts';
import { startTestService, type TestService } from '../../../support/service.ts';
import { JWT_AUDIENCE, OPAQUE_AUDIENCE, startTestIssuer, type TestIssuer } from './support/oidc-issuer.ts';

const SECRET = 'a-client-secret-of-sufficient-length';
const IDP_CLIENTS = [
  { clientId: 'alice-admin', clientSecret: SECRET, claims: { groups: ['staff', 'arbiter-admins'] } },
  { clientId: 'olga-officer', clientSecret: SECRET, claims: { groups: ['arbiter-compliance'] } },
  { clientId: 'otto-fraud-officer', clientSecret: SECRET, claims: { groups: ['arbiter-compliance-fraud'] } },
  { clientId: 'fred-fraud-admin', clientSecret: SECRET, claims: { groups: ['arbiter-admins-fraud'] } },
  { clientId: 'ann-auditor', clientSecret: SECRET, claims: { groups: ['arbiter-auditors'] } },
  { clientId: 'mallory', clientSecret: SECRET, claims: { groups: ['marketing'] } },
  { clientId: 'arbiter-introspector', clientSecret: SECRET },
];
const CI_JOB = { repository: 'acme/fraud-model', ref: 'refs/heads/main', workflow: 'gate' };
const CI_CLIENTS = [
  { clientId: 'gate-job', clientSecret: SECRET, claims: CI_JOB },
  { clientId: 'branch-job', clientSecret: SECRET, claims: { ...CI_JOB, ref: 'refs/heads/experiment' } },
];

/**
 * Operations that use POST but change nothing, which an auditor may call: replaying a decision and simulating a
 * policy change against recorded history are part of an audit. Every other non-GET operation, including any
 * added later, must refuse an auditor.
 */
const READ_ONLY_OPERATIONS = new Set(['replayDecision', 'simulatePolicy']);

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function accessToken(issuer: TestIssuer, clientId: string, resource = JWT_AUDIENCE): Promise<string> {
  const config = await client.discovery(new URL(issuer.issuer), clientId, SECRET, undefined, {
    execute: [client.allowInsecureRequests],
  });
  return (await client.clientCredentialsGrant(config, { resource })).access_token;
}

/** Signs claims with a private JWK the way an issuer would, with header fields overridable. */
async function signed(key: JWK & { kid: string }, claims: JWTPayload, header: Record<string, unknown> = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid, ...header })
    .sign(await importJWK(key, 'ES256'));
}

describe('OIDC access tokens from a real provider', () => {
  let idp: TestIssuer;
  let ci: TestIssuer;
  let service: TestService;
  let oidcDoc: unknown;
  let oidcFile: string;
  const now = () => Math.floor(Date.now() / 1000);
  const goodClaims = (): JWTPayload => ({
    iss: idp.issuer,
    aud: JWT_AUDIENCE,
    sub: 'alice-admin',
    groups: ['arbiter-admins'],
    iat: now(),
    exp: now() + 300,
  });
  const call = (token: string, url = '/v1/tokens', method: 'GET' | 'POST' = 'GET') =>
    service.app.inject({ method, url, headers: bearer(token) });

  beforeAll(async () => {
    idp = await startTestIssuer(IDP_CLIENTS);
    ci = await startTestIssuer(CI_CLIENTS);
    oidcFile = path.join(os.tmpdir(), `arbiter-oidc-${process.pid}.yaml`);
    oidcDoc = {
      clock_tolerance_seconds: 30,
      jwks_cooldown_seconds: 0,
      issuers: [
        {
          issuer: idp.issuer,
          audience: [JWT_AUDIENCE, OPAQUE_AUDIENCE],
          introspection: { client_id: 'arbiter-introspector', client_secret: SECRET },
          rules: [
            { claims: { groups: 'arbiter-admins' }, role: 'admin' },
            { claims: { groups: 'arbiter-compliance' }, role: 'compliance_officer' },
            {
              claims: { groups: 'arbiter-compliance-fraud' },
              role: 'compliance_officer',
              models: ['fraud-*'],
            },
            {
              claims: { groups: 'arbiter-admins-fraud' },
              role: 'admin',
              models: ['fraud-*'],
              regions: ['eu'],
            },
            { claims: { groups: 'arbiter-auditors' }, role: 'auditor' },
          ],
        },
        {
          issuer: ci.issuer,
          audience: JWT_AUDIENCE,
          algorithms: ['ES256'],
          rules: [
            {
              claims: { repository: 'acme/fraud-model', ref: ['refs/heads/main', 'refs/tags/v*'] },
              role: 'ci',
              models: ['fraud-*'],
              regions: ['eu'],
            },
          ],
        },
      ],
    };
    await writeFile(oidcFile, toYaml(oidcDoc));
    service = await startTestService({ ARBITER_OIDC_CONFIG: oidcFile, ARBITER_AUTH_FAILURE_LIMIT: '0' });
  });
  afterAll(async () => {
    await service?.close();
    await idp?.close();
    await ci?.close();
    await rm(oidcFile, { force: true });
  });

  describe('valid tokens get their role', () => {
    it.each([
      ['alice-admin', 200],
      ['olga-officer', 403],
      ['ann-auditor', 403],
    ])('%s → admin-only route answers %i, a shared route 200', async (clientId, adminStatus) => {
      const token = await accessToken(idp, clientId);
      expect((await call(token)).statusCode).toBe(adminStatus);
      expect((await call(token, '/v1/models')).statusCode).toBe(200);
    });

    it('a compliance officer may fetch an audit bundle, a CI job may not', async () => {
      const officer = await accessToken(idp, 'olga-officer');
      const job = await accessToken(ci, 'gate-job');
      expect((await call(officer, '/v1/ledger/eu/bundle')).statusCode).not.toBe(403);
      expect((await call(job, '/v1/models')).statusCode).toBe(200);
      const refused = await call(job, '/v1/ledger/eu/bundle');
      expect(refused.statusCode).toBe(403);
      expect(refused.json().code).toBe('FORBIDDEN');
    });

    it('an opaque token is accepted through RFC 7662 introspection', async () => {
      const token = await accessToken(idp, 'alice-admin', OPAQUE_AUDIENCE);
      expect(token.split('.')).toHaveLength(1);
      expect((await call(token)).statusCode).toBe(200);
      expect((await call(`${token}x`)).statusCode).toBe(401);
    });

    it('the authenticator records subject, issuer, role, and the CI rule’s scope', async () => {
      const oidc = new OidcAuthenticator(parseOidcSettings(oidcDoc));
      const authenticator = compositeAuthenticator(service.tokens, oidc);
      expect(await authenticator.authenticate(await accessToken(ci, 'gate-job'))).toEqual({
        subject: 'gate-job',
        issuer: ci.issuer,
        role: 'ci',
        scope: { models: ['fraud-*'], regions: ['eu'] },
      });
      expect(await authenticator.authenticate(await accessToken(idp, 'ann-auditor'))).toEqual({
        subject: 'ann-auditor',
        issuer: idp.issuer,
        role: 'auditor',
      });
    });
  });

  describe('refusals', () => {
    it('a CI token whose ref no rule allows → 403 (valid token, no role)', async () => {
      const r = await call(await accessToken(ci, 'branch-job'), '/v1/models');
      expect(r.statusCode).toBe(403);
      expect(r.json().message).toBe('this identity has no role in Arbiter');
    });

    it('a valid token whose claims map to no role → 403', async () => {
      expect((await call(await accessToken(idp, 'mallory'), '/v1/models')).statusCode).toBe(403);
    });

    it('expired → 401', async () => {
      const token = await signed(idp.signingKey, { ...goodClaims(), iat: now() - 900, exp: now() - 120 });
      expect((await call(token)).statusCode).toBe(401);
    });

    it('expired within the clock leeway → still accepted', async () => {
      const token = await signed(idp.signingKey, { ...goodClaims(), exp: now() - 5 });
      expect((await call(token)).statusCode).toBe(200);
    });

    it('not yet valid → 401', async () => {
      const token = await signed(idp.signingKey, { ...goodClaims(), nbf: now() + 600, exp: now() + 900 });
      expect((await call(token)).statusCode).toBe(401);
    });

    it('without exp → 401', async () => {
      const { exp: _exp, ...claims } = goodClaims();
      expect((await call(await signed(idp.signingKey, claims))).statusCode).toBe(401);
    });

    it('wrong audience → 401 (a real token for another resource)', async () => {
      const forOther = await signed(idp.signingKey, { ...goodClaims(), aud: 'https://other.example/api' });
      expect((await call(forOther)).statusCode).toBe(401);
      // A real CI token, but the CI issuer is configured for JWT_AUDIENCE only.
      const config = await client.discovery(new URL(ci.issuer), 'gate-job', SECRET, undefined, {
        execute: [client.allowInsecureRequests],
      });
      const opaqueAud = (await client.clientCredentialsGrant(config, { resource: OPAQUE_AUDIENCE }))
        .access_token;
      expect((await call(opaqueAud, '/v1/models')).statusCode).toBe(401);
    });

    it('wrong issuer → 401, also when signed with a trusted issuer’s key', async () => {
      const unknown = await signed(idp.signingKey, { ...goodClaims(), iss: 'https://evil.example' });
      expect((await call(unknown)).statusCode).toBe(401);
      // Signed by the IdP's key but claiming the CI issuer: the CI issuer's JWKS does not hold that key.
      const crossed = await signed(idp.signingKey, { ...goodClaims(), iss: ci.issuer });
      expect((await call(crossed, '/v1/models')).statusCode).toBe(401);
    });

    it('alg: none → 401', async () => {
      const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }));
      const payload = base64url.encode(JSON.stringify(goodClaims()));
      expect((await call(`${header}.${payload}.`)).statusCode).toBe(401);
    });

    it('HS256 signed with the issuer’s public key → 401', async () => {
      const { d: _d, ...publicJwk } = idp.signingKey;
      const pem = createPublicKey({ key: publicJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      for (const secret of [Buffer.from(pem), Buffer.from(JSON.stringify(publicJwk))]) {
        const token = await new SignJWT(goodClaims())
          .setProtectedHeader({ alg: 'HS256', kid: idp.signingKey.kid })
          .sign(new Uint8Array(secret));
        expect((await call(token)).statusCode).toBe(401);
      }
    });

    it('a tampered signature or payload → 401', async () => {
      const token = await signed(idp.signingKey, goodClaims());
      const [h, p, s] = token.split('.') as [string, string, string];
      const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
      expect((await call(`${h}.${p}.${flipped}`)).statusCode).toBe(401);
      const promoted = base64url.encode(JSON.stringify({ ...goodClaims(), sub: 'someone-else' }));
      expect((await call(`${h}.${promoted}.${s}`)).statusCode).toBe(401);
    });

    it('an unknown kid → 401', async () => {
      const { privateKey } = await generateKeyPair('ES256');
      const token = await new SignJWT(goodClaims())
        .setProtectedHeader({ alg: 'ES256', kid: 'not-in-the-jwks' })
        .sign(privateKey);
      expect((await call(token)).statusCode).toBe(401);
    });

    it('garbage and an unknown local token → 401', async () => {
      expect((await call('not-a-token')).statusCode).toBe(401);
      expect((await call('arb_' + '0'.repeat(48))).statusCode).toBe(401);
    });
  });

  it('picks up a rotated JWKS, and refuses tokens signed with the retired key', async () => {
    const before = await accessToken(ci, 'gate-job');
    expect((await call(before, '/v1/models')).statusCode).toBe(200);
    const retired = ci.signingKey;
    await ci.rotateKey();
    expect(ci.signingKey.kid).not.toBe(retired.kid);
    const after = await accessToken(ci, 'gate-job');
    expect((await call(after, '/v1/models')).statusCode).toBe(200);
    const oldKeyToken = await signed(retired, {
      iss: ci.issuer,
      aud: JWT_AUDIENCE,
      sub: 'gate-job',
      ...CI_JOB,
      exp: now() + 300,
    });
    expect((await call(oldKeyToken, '/v1/models')).statusCode).toBe(401);
  });

  describe('local tokens beside OIDC', () => {
    it('an auditor gets 403 on every mutating route of the contract', async () => {
      const auditor = (await service.tokens.create({ role: 'auditor', createdBy: 'test' })).token;
      const mutating = operationsOf(loadOpenApi()).filter(
        (o) =>
          !['get', 'head', 'options'].includes(o.method) &&
          !READ_ONLY_OPERATIONS.has(o.operation.operationId ?? ''),
      );
      expect(mutating.length).toBeGreaterThanOrEqual(5);
      for (const { method, path: route } of mutating) {
        const url = route.replace(/\{[^}]+\}/g, 'eu');
        const r = await service.app.inject({
          method: method.toUpperCase() as 'POST',
          url,
          headers: { ...bearer(auditor), 'content-type': 'application/json' },
          payload: '{}',
        });
        expect(r.statusCode, `${method.toUpperCase()} ${route}`).toBe(403);
      }
    });

    it('an officer limited to some models decides and sees only their waivers', async () => {
      const requester = (await service.tokens.create({ role: 'compliance_officer', createdBy: 'test' }))
        .token;
      const scoped = await accessToken(idp, 'otto-fraud-officer');
      const waiverFor = async (model: string) => {
        const r = await service.app.inject({
          method: 'POST',
          url: '/v1/waivers',
          headers: bearer(requester),
          payload: {
            rule: 'FAIR-IMPACT-RATIO',
            model,
            region: 'eu',
            reason: 'Interim human review of every adverse outcome until the retrained model ships.',
            expires_at: new Date(Date.now() + 7 * 86_400_000).toISOString(),
          },
        });
        expect(r.statusCode, r.body).toBe(201);
        return r.json<{ id: string }>().id;
      };
      const fraud = await waiverFor('fraud-scorer');
      const credit = await waiverFor('credit-scorer');

      const listed = (await call(scoped, '/v1/waivers')).json<{ waivers: { id: string }[] }>().waivers;
      expect(listed.map((w) => w.id)).toContain(fraud);
      expect(listed.map((w) => w.id)).not.toContain(credit);
      for (const action of ['approve', 'reject']) {
        const refused = await call(scoped, `/v1/waivers/${credit}/${action}`, 'POST');
        expect(refused.statusCode, action).toBe(403);
        expect(refused.json().code).toBe('FORBIDDEN');
      }
      const approved = await call(scoped, `/v1/waivers/${fraud}/approve`, 'POST');
      expect(approved.statusCode, approved.body).toBe(200);
      expect(approved.json()).toMatchObject({ status: 'approved' });
      // Refused before anything was written: the other model's waiver still awaits a decision.
      const untouched = (await call(requester, '/v1/waivers')).json<{
        waivers: { id: string; status: string }[];
      }>();
      expect(untouched.waivers.find((w) => w.id === credit)?.status).toBe('requested');
    });

    it('scoped identities see and act on their models and regions only: decisions, simulations, models, reports, attestations, the ledger', async () => {
      const send = (token: string, method: 'GET' | 'POST', url: string, payload?: object) =>
        service.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
      const admin = (await service.tokens.create({ role: 'admin', createdBy: 'test' })).token;
      const officer = (await service.tokens.create({ role: 'compliance_officer', createdBy: 'test' })).token;
      const fraudOfficer = await accessToken(idp, 'otto-fraud-officer'); // models fraud-*
      const gate = await accessToken(ci, 'gate-job'); // ci: models fraud-*, region eu
      const sample = JSON.parse(
        await readFile('policies/deployment/samples/allowed/eu-credit-scoring-high-risk.json', 'utf8'),
      ) as { subject: object };
      const decide = async (model: string) => {
        const r = await send(admin, 'POST', '/v1/decisions', {
          ...sample,
          subject: { ...sample.subject, model },
        });
        expect(r.statusCode, r.body).toBe(201);
        return r.json<{ decision_id: string }>().decision_id;
      };
      const credit = await decide('credit-scoring');
      const fraud = await decide('fraud-scorer');

      // Decisions: read, listed, used as a cursor and replayed within scope only.
      expect((await send(gate, 'GET', `/v1/decisions/${fraud}`)).statusCode).toBe(200);
      expect((await send(gate, 'GET', `/v1/decisions/${credit}`)).json()).toMatchObject({
        statusCode: 403,
        code: 'FORBIDDEN',
      });
      const listed = (await send(gate, 'GET', '/v1/decisions')).json<{
        decisions: { decision_id: string }[];
      }>();
      expect(listed.decisions.map((d) => d.decision_id)).toEqual([fraud]);
      const onlyCredit = await send(gate, 'GET', '/v1/decisions?model=credit-scoring');
      expect(onlyCredit.json().decisions).toEqual([]);
      expect((await send(gate, 'GET', `/v1/decisions?after=${credit}`)).statusCode).toBe(403);
      expect((await send(fraudOfficer, 'POST', `/v1/decisions/${credit}/replay`)).statusCode).toBe(403);
      const replayed = await send(fraudOfficer, 'POST', `/v1/decisions/${fraud}/replay`);
      expect(replayed.statusCode, replayed.body).toBe(200);
      const simulated = await send(fraudOfficer, 'POST', '/v1/policies/simulate', { ref: 'HEAD' });
      expect(simulated.json()).toMatchObject({ evaluated: 1, last_decision_id: fraud });

      // Models: registered, listed and read within scope only.
      const card = { owner: 'mallory@example.org', intended_purpose: 'Takes the name.', risk_tier: 'high' };
      expect((await send(gate, 'POST', '/v1/models', { name: 'credit-newmodel', ...card })).statusCode).toBe(
        403,
      );
      expect((await send(gate, 'POST', '/v1/models', { name: 'fraud-newmodel', ...card })).statusCode).toBe(
        201,
      );
      expect((await send(admin, 'POST', '/v1/models', { name: 'credit-model', ...card })).statusCode).toBe(
        201,
      );
      const models = (await send(fraudOfficer, 'GET', '/v1/models')).json<{ models: { name: string }[] }>();
      expect(models.models.map((m) => m.name)).toEqual(['fraud-newmodel']);
      expect((await send(fraudOfficer, 'GET', '/v1/models/credit-model')).statusCode).toBe(403);

      // A report and an attestation without a model cover every model of the region.
      const report = { region: 'eu', template: 'eu/ai-act-pmm-quarterly', period: '2026-Q4' };
      expect((await send(fraudOfficer, 'POST', '/v1/reports', report)).json()).toMatchObject({
        statusCode: 403,
        message: 'this identity may not act on all of region eu',
      });
      const created = await send(officer, 'POST', '/v1/reports', report);
      expect(created.statusCode, created.body).toBe(201);
      const id = created.json<{ id: string }>().id;
      expect((await send(fraudOfficer, 'GET', `/v1/reports/${id}`)).statusCode).toBe(403);
      expect((await send(fraudOfficer, 'GET', `/v1/reports/${id}/pdf`)).statusCode).toBe(403);
      expect((await send(fraudOfficer, 'GET', '/v1/reports')).json().reports).toEqual([]);
      expect((await send(officer, 'GET', '/v1/reports')).json().reports).toHaveLength(1);
      const statement = 'Reviewed the quarter.';
      expect((await send(fraudOfficer, 'POST', '/v1/ledger/eu/attestations', { statement })).statusCode).toBe(
        403,
      );
      const aboutCredit = { statement, subject: { model: 'credit-scoring' } };
      expect((await send(fraudOfficer, 'POST', '/v1/ledger/eu/attestations', aboutCredit)).statusCode).toBe(
        403,
      );
      const aboutFraud = { statement, subject: { model: 'fraud-scorer' } };
      expect((await send(fraudOfficer, 'POST', '/v1/ledger/eu/attestations', aboutFraud)).statusCode).toBe(
        201,
      );

      // The ledger: a caller limited to some models reads the entries about them, and the checkpoints and
      // proofs of its regions; not another model's entries, nor bundles or entry tiles, which hold every model's.
      const seqOf = async (id: string) =>
        (await send(admin, 'GET', `/v1/decisions/${id}`)).json<{ ledger: { seq: number } }>().ledger.seq;
      const fraudEntry = await send(gate, 'GET', `/v1/ledger/eu/entries/${await seqOf(fraud)}`);
      expect(fraudEntry.statusCode, fraudEntry.body).toBe(200);
      expect(fraudEntry.json()).toMatchObject({
        entry: { type: 'decision', subject: { model: 'fraud-scorer' } },
      });
      const creditEntry = await send(gate, 'GET', `/v1/ledger/eu/entries/${await seqOf(credit)}`);
      expect(creditEntry.json()).toMatchObject({ statusCode: 403, code: 'FORBIDDEN' });
      expect(creditEntry.body).not.toContain('credit-scoring');
      expect((await send(gate, 'GET', '/v1/ledger/eu/checkpoint')).statusCode).toBe(200);
      for (const url of ['/v1/ledger/us/checkpoint', '/v1/ledger/us/keys', '/v1/ledger/us/anchors'])
        expect((await send(gate, 'GET', url)).statusCode, url).toBe(403);
      for (const token of [gate, fraudOfficer]) {
        expect((await send(token, 'GET', '/v1/ledger/eu/tlog/tile/entries/000.p/1')).statusCode).toBe(403);
        expect((await send(token, 'GET', '/v1/ledger/eu/bundle')).statusCode).toBe(403);
      }
      const tile = await send(officer, 'GET', '/v1/ledger/eu/tlog/tile/entries/000.p/1');
      expect(tile.statusCode, tile.body).toBe(200);
      expect(tile.headers['cache-control']).toBe('no-cache');
      expect((await send(officer, 'GET', '/v1/ledger/eu/bundle')).statusCode).toBe(200);
    }, 120_000);

    it('an admin limited to some models or regions creates, lists and revokes no local token', async () => {
      // A local token has no scope: one minted by a scoped admin would act on every model and region.
      const scopedAdmin = await accessToken(idp, 'fred-fraud-admin');
      const other = await service.tokens.create({ role: 'admin', createdBy: 'test' });
      const before = await service.tokens.list();
      const attempts = [
        { method: 'POST', url: '/v1/tokens', payload: { role: 'admin', name: 'unscoped' } },
        { method: 'GET', url: '/v1/tokens' },
        { method: 'DELETE', url: `/v1/tokens/${other.id}` },
      ] as const;
      for (const attempt of attempts) {
        const r = await service.app.inject({ ...attempt, headers: bearer(scopedAdmin) });
        expect(r.statusCode, `${attempt.method} ${attempt.url}`).toBe(403);
        expect(r.json()).toMatchObject({
          code: 'FORBIDDEN',
          message: expect.stringMatching(
            /^this identity is limited to some models or regions, so it may not/,
          ),
        });
      }
      expect(await service.tokens.list()).toEqual(before);
      expect((await call(other.token)).statusCode).toBe(200);
    });

    it('an identity limited to some models or regions downloads only the artifacts it uploaded', async () => {
      // An artifact belongs to no model: its bytes (a model, evaluation data about people) could be another team's.
      const scopedAdmin = await accessToken(idp, 'fred-fraud-admin');
      const admin = await service.tokens.create({ role: 'admin', createdBy: 'test' });
      const upload = async (token: string, bytes: string) => {
        const r = await service.app.inject({
          method: 'POST',
          url: '/v1/artifacts?filename=rows.csv',
          headers: { ...bearer(token), 'content-type': 'application/octet-stream' },
          payload: Buffer.from(bytes),
        });
        expect(r.statusCode, r.body).toBe(201);
        return r.json<{ sha256: string }>().sha256;
      };
      const others = await upload(admin.token, 'x,y\n1,other team\n');
      const own = await upload(scopedAdmin, 'x,y\n2,fraud team\n');
      const download = (token: string, sha256: string) =>
        service.app.inject({ method: 'GET', url: `/v1/artifacts/${sha256}/content`, headers: bearer(token) });
      expect((await download(scopedAdmin, others)).statusCode).toBe(404);
      const mine = await download(scopedAdmin, own);
      expect(mine.statusCode, mine.body).toBe(200);
      expect(mine.body).toBe('x,y\n2,fraud team\n');
      expect((await download(admin.token, others)).body).toBe('x,y\n1,other team\n');
    });

    it('a revoked local token → 401', async () => {
      const { id, token } = await service.tokens.create({ role: 'admin', createdBy: 'test' });
      expect((await call(token)).statusCode).toBe(200);
      await service.tokens.revoke(id);
      const r = await call(token);
      expect(r.statusCode).toBe(401);
      expect(r.json().code).toBe('UNAUTHENTICATED');
    });
  });
});
