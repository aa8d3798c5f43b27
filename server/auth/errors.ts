/**
 * IDENTITY_PROVIDER_UNAVAILABLE: the credential could not be checked (the issuer's discovery document or key
 * set did not answer), which says nothing about the credential: retry, not a failed authentication.
 * TOO_MANY_AUTH_FAILURES: the client's credentials failed too often of late; this one was not checked.
 */
export type AuthErrorCode =
  'UNAUTHENTICATED' | 'FORBIDDEN' | 'IDENTITY_PROVIDER_UNAVAILABLE' | 'TOO_MANY_AUTH_FAILURES';

/**
 * A refused request. `message` is safe to show the caller; `reason` is logged, never sent; `retryAfterSeconds`
 * is when a refusal that is not about the credential itself may be tried again.
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    readonly reason: string = message,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}
