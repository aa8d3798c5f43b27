import type { Role } from '../db/schema.ts';

/** Who is calling: recorded in every ledger entry a call causes. */
export interface Identity {
  readonly subject: string;
  readonly issuer: string;
  readonly role: Role;
}

/** Turns a bearer credential into an identity, or throws AuthError UNAUTHENTICATED. */
export interface Authenticator {
  authenticate(credential: string): Promise<Identity>;
}

export const LOCAL_ISSUER = 'arbiter-local';
