import { AuthError } from './errors.ts';
import type { Authenticator, Identity } from './identity.ts';
import { LOCAL_TOKEN_PREFIX } from './local-tokens.ts';

/** Generous for any JWT an IdP issues; longer credentials are refused before any parsing. */
const MAX_CREDENTIAL_LENGTH = 8192;

/**
 * Local API tokens (`arb_…`) go to the local store, everything else to OIDC when issuers are configured;
 * without them, only local tokens are accepted (the embedded default).
 */
export function compositeAuthenticator(local: Authenticator, oidc?: Authenticator): Authenticator {
  return {
    authenticate(credential: string): Promise<Identity> {
      if (credential.length > MAX_CREDENTIAL_LENGTH) {
        return Promise.reject(new AuthError('UNAUTHENTICATED', 'invalid token', 'credential too long'));
      }
      if (credential.startsWith(LOCAL_TOKEN_PREFIX) || !oidc) return local.authenticate(credential);
      return oidc.authenticate(credential);
    },
  };
}
