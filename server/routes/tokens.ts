import type { LocalTokens } from '../auth/local-tokens.ts';
import { assertUnlimited } from '../auth/scope.ts';
import type { Role } from '../db/schema.ts';
import { ServerError } from '../errors.ts';
import { callerOf, dateOf, type Handlers } from './types.ts';

/**
 * Local tokens carry no scope and are listed and revoked whoever minted them, so an admin limited to some
 * models or regions (an OIDC rule's scope) manages none: it could otherwise mint itself an unlimited token,
 * or revoke the tokens of admins it cannot see past.
 */
export function tokenHandlers(tokens: LocalTokens): Handlers {
  return {
    createToken: async (request, reply) => {
      const caller = callerOf(request);
      assertUnlimited(caller, 'create local tokens');
      const body = request.body as { role: Role; name?: string; expires_at?: string };
      const created = await tokens.create({
        role: body.role,
        name: body.name,
        expiresAt: body.expires_at ? dateOf(body.expires_at, 'expires_at') : undefined,
        createdBy: caller.subject,
      });
      return reply.status(201).send(created);
    },
    listTokens: async (request) => {
      assertUnlimited(callerOf(request), 'list local tokens');
      return { tokens: await tokens.list() };
    },
    revokeToken: async (request, reply) => {
      assertUnlimited(callerOf(request), 'revoke local tokens');
      const { id } = request.params as { id: string };
      if (!(await tokens.revoke(id))) throw new ServerError('NOT_FOUND', `no active token ${id}`);
      return reply.status(204).send();
    },
  };
}
