export type AuthErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN';

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
