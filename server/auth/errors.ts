/**
 * IDENTITY_PROVIDER_UNAVAILABLE: the credential could not be checked (the issuer's discovery document or key
 * set did not answer), which says nothing about the credential: retry, not a failed authentication.
 */
export type AuthErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'IDENTITY_PROVIDER_UNAVAILABLE';

/** A refused request. `message` is safe to show the caller; `reason` is logged, never sent. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    readonly reason: string = message,
  ) {
    super(message);
  }
}
