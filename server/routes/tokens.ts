import type { LocalTokens } from '../auth/local-tokens.ts';
import type { Role } from '../db/schema.ts';
import { ServerError } from '../errors.ts';
import { callerOf, dateOf, type Handlers } from './types.ts';

export function tokenHandlers(tokens: LocalTokens): Handlers {
  return {
    createToken: async (request, reply) => {
      const body = request.body as { role: Role; name?: string; expires_at?: string };
      const expiresAt = body.expires_at ? dateOf(body.expires_at, 'expires_at') : undefined;
      if (expiresAt && expiresAt <= new Date()) {
        throw new ServerError('BAD_REQUEST', 'expires_at must lie in the future', { field: 'expires_at' });
      }
      const created = await tokens.create({
        role: body.role,
        name: body.name,
        expiresAt,
        createdBy: callerOf(request).subject,
      });
      return reply.status(201).send(created);
    },
    listTokens: async () => ({ tokens: await tokens.list() }),
    revokeToken: async (request, reply) => {
      const { id } = request.params as { id: string };
      if (!(await tokens.revoke(id))) throw new ServerError('NOT_FOUND', `no active token ${id}`);
      return reply.status(204).send();
    },
  };
}
