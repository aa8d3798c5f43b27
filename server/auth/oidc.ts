import {
  createRemoteJWKSet,
  decodeJwt,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import * as client from 'openid-client';
import { firstMatchingRule } from './claim-rules.ts';
import { AuthError } from './errors.ts';
import type { Authenticator, Identity } from './identity.ts';
import type { IssuerSettings, OidcSettings } from './oidc-config.ts';

interface Resolved {
  readonly config: client.Configuration;
  readonly jwks: JWTVerifyGetKey;
}

const refuse = (reason: string) => new AuthError('UNAUTHENTICATED', 'invalid token', reason);

// An issuer that does not answer says nothing about the token: a 503 to retry, which the failure limiter does
// not count, rather than a 401 that calls every caller's good token bad.
const unavailable = (reason: string) =>
  new AuthError(
    'IDENTITY_PROVIDER_UNAVAILABLE',
    'the identity provider is unavailable; retry shortly',
    reason,
  );

/** What picking a key from the issuer's set fails with because of the token (its kid or alg), not the set. */
const TOKEN_KEY_FAULTS = [
  joseErrors.JWKSNoMatchingKey,
  joseErrors.JWKSMultipleMatchingKeys,
  joseErrors.JOSENotSupported,
];

/** One trusted issuer: discovered lazily (an IdP that is down at start-up does not stop Arbiter). */
class TrustedIssuer {
  private resolving: Promise<Resolved> | undefined;

  constructor(
    readonly settings: IssuerSettings,
    private readonly jwksCooldownMs: number,
  ) {}

  resolve(): Promise<Resolved> {
    this.resolving ??= this.discover().catch((err: unknown) => {
      // Forget the failure so that the next request tries again.
      this.resolving = undefined;
      throw unavailable(`issuer ${this.settings.issuer} unreachable: ${(err as Error).message}`);
    });
    return this.resolving;
  }

  private async discover(): Promise<Resolved> {
    const { issuer, introspection } = this.settings;
    // Validated by the config: plain http only ever reaches a loopback issuer.
    const insecure = new URL(issuer).protocol === 'http:';
    const config = await client.discovery(
      new URL(issuer),
      introspection?.clientId ?? 'arbiter',
      introspection?.clientSecret,
      undefined,
      insecure ? { execute: [client.allowInsecureRequests] } : undefined,
    );
    const jwksUri = config.serverMetadata().jwks_uri;
    if (!jwksUri) throw new Error('its discovery document has no jwks_uri');
    // The key set is cached; an unknown kid refetches it (at most once per cooldown), which picks up rotation.
    const remote = createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: this.jwksCooldownMs });
    const jwks: JWTVerifyGetKey = async (header, token) => {
      try {
        return await remote(header, token);
      } catch (err) {
        // jwtVerify tries each of several matching keys itself: that error, like the token's, goes on as it is.
        if (TOKEN_KEY_FAULTS.some((fault) => err instanceof fault)) throw err;
        throw unavailable(`issuer ${issuer} key set unavailable: ${describeJoseError(err)}`);
      }
    };
    return { config, jwks };
  }
}

function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JOSEError) return `${err.code}: ${err.message}`;
  return (err as Error).message ?? String(err);
}

/**
 * Verifies OIDC access tokens from several issuers at once: JWTs against the issuer's JWKS (issuer, audience,
 * exp/nbf with a small leeway, an asymmetric algorithm allowlist), opaque tokens by RFC 7662 introspection
 * where an issuer has it configured. The issuer's claim rules give the role and scope.
 */
export class OidcAuthenticator implements Authenticator {
  private readonly issuers: ReadonlyMap<string, TrustedIssuer>;

  constructor(
    private readonly settings: OidcSettings,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.issuers = new Map(
      settings.issuers.map((s) => [s.issuer, new TrustedIssuer(s, settings.jwksCooldownSeconds * 1000)]),
    );
  }

  async authenticate(credential: string): Promise<Identity> {
    const unverified = peekJwt(credential);
    if (unverified) {
      // `iss` is attacker-controlled here: it only picks which configured issuer's keys verify the token.
      const trusted = typeof unverified.iss === 'string' ? this.issuers.get(unverified.iss) : undefined;
      if (!trusted) throw refuse(`JWT from unknown issuer ${JSON.stringify(unverified.iss ?? null)}`);
      return this.identify(trusted.settings, await this.verifyJwt(trusted, credential));
    }
    return this.introspect(credential);
  }

  private async verifyJwt(trusted: TrustedIssuer, token: string): Promise<JWTPayload> {
    const { jwks } = await trusted.resolve();
    const { issuer, audience, algorithms } = trusted.settings;
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer,
        audience: [...audience],
        algorithms: [...algorithms],
        clockTolerance: this.settings.clockToleranceSeconds,
        currentDate: this.clock(),
        requiredClaims: ['exp'],
      });
      return payload;
    } catch (err) {
      if (err instanceof AuthError) throw err;
      throw refuse(`JWT from ${issuer} rejected: ${describeJoseError(err)}`);
    }
  }

  private async introspect(token: string): Promise<Identity> {
    const candidates = [...this.issuers.values()].filter((i) => i.settings.introspection);
    if (candidates.length === 0)
      throw refuse('not a local token, not a JWT, and no issuer introspects tokens');
    const reasons: string[] = [];
    const unanswered: string[] = [];
    for (const trusted of candidates) {
      const { issuer } = trusted.settings;
      let answer: client.IntrospectionResponse;
      try {
        const { config } = await trusted.resolve();
        answer = await client.tokenIntrospection(config, token, { token_type_hint: 'access_token' });
      } catch (err) {
        unanswered.push(`${issuer}: ${err instanceof AuthError ? err.reason : (err as Error).message}`);
        continue;
      }
      if (!answer.active) {
        reasons.push(`${issuer}: inactive`);
        continue;
      }
      const problem = this.checkIntrospected(trusted.settings, answer);
      if (problem) throw refuse(`opaque token from ${issuer} rejected: ${problem}`);
      return this.identify(trusted.settings, { ...answer, sub: answer.sub ?? answer.client_id });
    }
    // An issuer that could not be asked may be the one that issued it.
    if (unanswered.length > 0)
      throw unavailable(`opaque token not checked: ${[...unanswered, ...reasons].join('; ')}`);
    throw refuse(`opaque token not accepted: ${reasons.join('; ')}`);
  }

  /** RFC 7662 makes these fields optional; we require what a JWT would have to carry. */
  private checkIntrospected(
    settings: IssuerSettings,
    answer: client.IntrospectionResponse,
  ): string | undefined {
    if (answer.iss !== undefined && answer.iss !== settings.issuer) return `iss ${answer.iss}`;
    if (answer.token_type !== undefined && !/^(bearer|access_token|dpop)$/i.test(answer.token_type))
      return `token_type ${answer.token_type}`;
    const aud = answer.aud === undefined ? [] : Array.isArray(answer.aud) ? answer.aud : [answer.aud];
    if (!aud.some((a) => settings.audience.includes(a)))
      return `audience ${JSON.stringify(answer.aud ?? null)}`;
    const now = this.clock().getTime() / 1000;
    const leeway = this.settings.clockToleranceSeconds;
    if (typeof answer.exp !== 'number') return 'no exp';
    if (answer.exp <= now - leeway) return 'expired';
    if (typeof answer.nbf === 'number' && answer.nbf > now + leeway) return 'not yet valid';
    return undefined;
  }

  private identify(settings: IssuerSettings, claims: Record<string, unknown>): Identity {
    const subject = claims[settings.subjectClaim];
    if (typeof subject !== 'string' || subject === '') {
      throw refuse(`token from ${settings.issuer} has no ${settings.subjectClaim} claim`);
    }
    const rule = firstMatchingRule(claims, settings.rules);
    if (!rule) {
      throw new AuthError(
        'FORBIDDEN',
        'this identity has no role in Arbiter',
        `${settings.issuer}/${subject} matches no role rule`,
      );
    }
    return {
      subject,
      issuer: settings.issuer,
      role: rule.role,
      ...(rule.scope ? { scope: rule.scope } : {}),
    };
  }
}

/** The unverified claims of something shaped like a JWS compact JWT; undefined for anything else (opaque). */
function peekJwt(credential: string): JWTPayload | undefined {
  if (credential.split('.').length !== 3) return undefined;
  try {
    return decodeJwt(credential);
  } catch {
    return undefined;
  }
}
