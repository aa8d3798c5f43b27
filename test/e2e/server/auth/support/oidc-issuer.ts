import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import Provider from 'oidc-provider';

export interface TestClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Claims every access token this client gets carries (e.g. groups, or a CI job's repository/ref). */
  readonly claims?: Record<string, unknown>;
}

export interface TestIssuer {
  readonly issuer: string;
  /** The private signing key the issuer publishes (public part) in its JWKS, for crafting tokens in tests. */
  readonly signingKey: JWK & { kid: string };
  /** Replaces the issuer's signing key: the same issuer restarts on its port with a new JWKS. */
  rotateKey(): Promise<void>;
  close(): Promise<void>;
}

/** Audience that yields JWT access tokens; OPAQUE_AUDIENCE yields opaque ones (for introspection). */
export const JWT_AUDIENCE = 'https://arbiter.test/api';
export const OPAQUE_AUDIENCE = 'https://arbiter.test/opaque';

async function newSigningKey(): Promise<JWK & { kid: string }> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg: 'ES256', use: 'sig', kid: `k-${Math.random().toString(36).slice(2, 10)}` };
}

function providerFor(issuer: string, key: JWK, clients: readonly TestClient[]): Provider {
  const claimsByClient = new Map(clients.map((c) => [c.clientId, c.claims ?? {}]));
  return new Provider(issuer, {
    jwks: { keys: [key] },
    clients: clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      id_token_signed_response_alg: 'ES256',
    })),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => JWT_AUDIENCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => ({
          scope: 'api',
          audience: resource,
          accessTokenTTL: 600,
          accessTokenFormat: resource === OPAQUE_AUDIENCE ? 'opaque' : 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    extraTokenClaims: async (_ctx: unknown, token: unknown) => {
      const clientId = (token as { clientId?: string }).clientId;
      return clientId ? claimsByClient.get(clientId) : undefined;
    },
  });
}

/** Each answer closes its connection, so that no client holds a pooled socket across a restart (rotateKey). */
function withoutKeepAlive(provider: Provider) {
  const handle = provider.callback();
  return (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('connection', 'close');
    handle(req, res);
  };
}

/** A real OIDC provider (oidc-provider) on loopback, issuing client-credentials access tokens. */
export async function startTestIssuer(clients: readonly TestClient[]): Promise<TestIssuer> {
  let server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  let signingKey = await newSigningKey();
  server.on('request', withoutKeepAlive(providerFor(issuer, signingKey, clients)));
  const closeServer = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    issuer,
    get signingKey() {
      return signingKey;
    },
    async rotateKey() {
      await closeServer();
      signingKey = await newSigningKey();
      server = createServer(withoutKeepAlive(providerFor(issuer, signingKey, clients)));
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    close: closeServer,
  };
}
