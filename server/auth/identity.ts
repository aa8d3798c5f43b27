import type { Role } from '../db/schema.ts';

/**
 * What an identity may act on. Each list holds names or `*` globs; an absent list places no limit. A CI job's
 * rule (which repositories may gate which models and regions) ends up here.
 */
export interface AccessScope {
  readonly models?: readonly string[];
  readonly regions?: readonly string[];
}

/** Who is calling: recorded in every ledger entry a call causes. */
export interface Identity {
  readonly subject: string;
  readonly issuer: string;
  readonly role: Role;
  /** Absent: unrestricted within the role. */
  readonly scope?: AccessScope;
}

/** Turns a bearer credential into an identity, or throws AuthError (UNAUTHENTICATED, or FORBIDDEN: no role). */
export interface Authenticator {
  authenticate(credential: string): Promise<Identity>;
}

export const LOCAL_ISSUER = 'arbiter-local';
