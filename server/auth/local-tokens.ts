import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { ApiTokenTable, Role, ServerTables } from '../db/schema.ts';
import { ServerError } from '../errors.ts';
import { AuthError } from './errors.ts';
import { LOCAL_ISSUER, type Authenticator, type Identity } from './identity.ts';

export const LOCAL_TOKEN_PREFIX = 'arb_';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export type TokenView = Omit<ApiTokenTable, 'secret_sha256' | 'created_by' | 'created_at'> & {
  created_at: Date;
};

export interface CreatedToken extends TokenView {
  /** The secret: shown once, stored only as its sha256. */
  readonly token: string;
}

type KnownToken = Pick<ApiTokenTable, 'id' | 'role' | 'expires_at'>;

/** How long a valid token's row is trusted without reading it again. */
const KNOWN_TOKEN_TTL_MS = 1000;

/** Local API tokens: the credentials of the embedded default (and of any deployment without OIDC). */
export class LocalTokens implements Authenticator {
  // Every request presents a token; reading its row once a second instead of every time saves the hot paths
  // a database round trip. A revocation through this process takes effect at once; one made by another
  // process (the CLI on the database) within KNOWN_TOKEN_TTL_MS. Expiry is checked on every request, and
  // only valid tokens are remembered.
  private readonly known = new LRUCache<string, KnownToken>({ max: 10_000, ttl: KNOWN_TOKEN_TTL_MS });
  // Counts revocations through this process: a row read before one of them may be that token's, and is not
  // remembered, or the token would pass for another second after revoke() returned.
  private revocations = 0;

  constructor(
    private readonly db: Kysely<ServerTables>,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Creates a token; `createdBy` is the subject of whoever asked (a token id, when a local token did), which
   * the four-eyes check on waivers follows. Refuses an expiry that is not in the future, whichever way the
   * token is created (the API, or the CLI directly on the database): such a token could never be used.
   */
  async create(input: {
    role: Role;
    name?: string;
    expiresAt?: Date;
    createdBy: string;
  }): Promise<CreatedToken> {
    if (input.expiresAt && input.expiresAt <= this.clock()) {
      throw new ServerError(
        'BAD_REQUEST',
        `expires_at must lie in the future, not ${input.expiresAt.toISOString()}`,
        { field: 'expires_at' },
      );
    }
    const token = LOCAL_TOKEN_PREFIX + randomBytes(24).toString('hex');
    const row = await this.db
      .insertInto('api_token')
      .values({
        id: `tok_${randomBytes(8).toString('hex')}`,
        secret_sha256: sha256(token),
        role: input.role,
        name: input.name ?? `${input.role} token`,
        created_by: input.createdBy,
        expires_at: input.expiresAt ?? null,
        revoked_at: null,
      })
      .returning(['id', 'role', 'name', 'created_at', 'expires_at', 'revoked_at'])
      .executeTakeFirstOrThrow();
    return { ...row, token };
  }

  list(): Promise<TokenView[]> {
    return this.db
      .selectFrom('api_token')
      .select(['id', 'role', 'name', 'created_at', 'expires_at', 'revoked_at'])
      .orderBy('created_at')
      .execute();
  }

  /** Revokes a token; false when there is no such (unrevoked) token. */
  async revoke(id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('api_token')
      .set({ revoked_at: this.clock() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    this.revocations++;
    this.known.clear();
    return result.numUpdatedRows > 0n;
  }

  async authenticate(credential: string): Promise<Identity> {
    if (!credential.startsWith(LOCAL_TOKEN_PREFIX)) {
      throw new AuthError('UNAUTHENTICATED', 'invalid token', 'not a local token');
    }
    const secret = sha256(credential);
    let token = this.known.get(secret);
    if (!token) {
      const revocations = this.revocations;
      const row = await this.db
        .selectFrom('api_token')
        .select(['id', 'role', 'expires_at', 'revoked_at'])
        .where('secret_sha256', '=', secret)
        .executeTakeFirst();
      if (!row) throw new AuthError('UNAUTHENTICATED', 'invalid token', 'unknown local token');
      if (row.revoked_at)
        throw new AuthError('UNAUTHENTICATED', 'invalid token', `token ${row.id} is revoked`);
      token = { id: row.id, role: row.role, expires_at: row.expires_at };
      if (revocations === this.revocations) this.known.set(secret, token);
    }
    if (token.expires_at && token.expires_at <= this.clock()) {
      throw new AuthError('UNAUTHENTICATED', 'invalid token', `token ${token.id} expired`);
    }
    return { subject: token.id, issuer: LOCAL_ISSUER, role: token.role };
  }

  /**
   * First start: when no admin token exists yet, creates one and writes it to `<dataDir>/admin-token` (mode
   * 0600). Returns the file's path when it wrote one.
   */
  async ensureAdminToken(dataDir: string): Promise<string | undefined> {
    const file = path.join(dataDir, 'admin-token');
    const existing = await this.db
      .selectFrom('api_token')
      .select('id')
      .where('role', '=', 'admin')
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (existing) return undefined;
    const created = await this.create({ role: 'admin', name: 'initial admin', createdBy: 'arbiter' });
    await writeFile(file, `${created.token}\n`, { mode: 0o600 });
    return file;
  }
}
