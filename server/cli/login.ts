import type { Command } from 'commander';
import * as client from 'openid-client';
import { isAllowedIssuerUrl } from '../auth/oidc-config.ts';
import { tokenCachePath, writeCachedToken } from '../auth/token-cache.ts';
import { CliFailure } from './output.ts';

interface Flags {
  server?: string;
  issuer?: string;
  clientId?: string;
  clientSecret?: string;
  resource?: string;
  scope?: string;
}

/** The grant's parameters: the API's resource indicator (RFC 8707) selects a JWT access token for Arbiter. */
function grantParameters(flags: Flags): Record<string, string> {
  const parameters: Record<string, string> = {};
  if (flags.resource) parameters.resource = flags.resource;
  if (flags.scope) parameters.scope = flags.scope;
  return parameters;
}

async function obtainToken(flags: Required<Pick<Flags, 'issuer' | 'clientId'>> & Flags) {
  const secret = flags.clientSecret ?? process.env.ARBITER_OIDC_CLIENT_SECRET;
  let config: client.Configuration;
  try {
    config = await client.discovery(
      new URL(flags.issuer),
      flags.clientId,
      secret,
      undefined,
      new URL(flags.issuer).protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : undefined,
    );
  } catch (err) {
    throw new CliFailure(`cannot discover ${flags.issuer}: ${(err as Error).message}`);
  }
  try {
    // A secret means a machine (client credentials); without one, a person approves a device code.
    if (secret) return await client.clientCredentialsGrant(config, grantParameters(flags));
    const device = await client.initiateDeviceAuthorization(config, grantParameters(flags));
    console.error(
      `To sign in, open ${device.verification_uri_complete ?? device.verification_uri} and enter the code ${device.user_code}`,
    );
    return await client.pollDeviceAuthorizationGrant(
      config,
      device,
      flags.resource ? { resource: flags.resource } : {},
    );
  } catch (err) {
    const e = err as { error?: string; error_description?: string; message: string };
    throw new CliFailure(`login at ${flags.issuer} failed: ${e.error_description ?? e.error ?? e.message}`);
  }
}

export function registerLoginCommand(program: Command): void {
  program
    .command('login')
    .description(
      'get an access token from your OIDC provider and keep it (mode 0600) for calls to --server: device code, ' +
        'or client credentials when a client secret is given',
    )
    .option('--server <url>', 'the Arbiter the token is for (ARBITER_SERVER)')
    .option('--issuer <url>', 'OIDC issuer URL (ARBITER_OIDC_ISSUER)')
    .option('--client-id <id>', 'OAuth client id (ARBITER_OIDC_CLIENT_ID)')
    .option(
      '--client-secret <secret>',
      'client secret for client credentials (prefer ARBITER_OIDC_CLIENT_SECRET)',
    )
    .option(
      '--resource <uri>',
      "Arbiter's resource indicator / audience at the issuer (ARBITER_OIDC_RESOURCE)",
    )
    .option('--scope <scopes>', 'space-separated scopes to ask for')
    .action(async (flags: Flags) => {
      const server = (flags.server ?? process.env.ARBITER_SERVER)?.replace(/\/+$/, '');
      const issuer = flags.issuer ?? process.env.ARBITER_OIDC_ISSUER;
      const clientId = flags.clientId ?? process.env.ARBITER_OIDC_CLIENT_ID;
      const resource = flags.resource ?? process.env.ARBITER_OIDC_RESOURCE;
      if (!server)
        throw new CliFailure('login needs --server (or ARBITER_SERVER): the token is kept for that server');
      if (!issuer || !clientId)
        throw new CliFailure('login needs --issuer and --client-id (or their variables)');
      if (!isAllowedIssuerUrl(issuer))
        throw new CliFailure(`--issuer ${issuer}: use https:// (http:// only on loopback)`);
      const answer = await obtainToken({ ...flags, issuer, clientId, resource });
      const expiresIn = answer.expiresIn();
      const expiresAt =
        expiresIn === undefined ? undefined : new Date(Date.now() + expiresIn * 1000).toISOString();
      const file = tokenCachePath();
      await writeCachedToken(
        server,
        { access_token: answer.access_token, issuer, expires_at: expiresAt },
        file,
      );
      console.log(
        `logged in at ${issuer}; the token for ${server} is in ${file}${expiresAt ? ` until ${expiresAt}` : ''}`,
      );
    });
}
