export { AuthError, type AuthErrorCode } from './errors.ts';
export { LOCAL_ISSUER, type AccessScope, type Authenticator, type Identity } from './identity.ts';
export { LocalTokens, LOCAL_TOKEN_PREFIX, type CreatedToken, type TokenView } from './local-tokens.ts';
export { OidcAuthenticator } from './oidc.ts';
export {
  ASYMMETRIC_ALGORITHMS,
  loadOidcSettings,
  parseOidcSettings,
  type IssuerSettings,
  type OidcSettings,
} from './oidc-config.ts';
export { compositeAuthenticator } from './composite.ts';
export { AuthFailureLimiter, type FailureLimitOptions } from './failure-limit.ts';
export {
  assertCoversRegion,
  assertInScope,
  coversRegion,
  isInScope,
  scopeAsLikePatterns,
  type ScopeTarget,
} from './scope.ts';
export { firstMatchingRule, matchesGlob, type ClaimRule } from './claim-rules.ts';
