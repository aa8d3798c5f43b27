import { assertInScope, isInScope } from '../auth/index.ts';
import type { ModelInventory, ModelRegistration } from '../inventory/models.ts';
import { callerOf, type Handlers } from './types.ts';

export function inventoryHandlers(inventory: ModelInventory): Handlers {
  return {
    registerModel: async (request, reply) => {
      const body = request.body as ModelRegistration;
      assertInScope(callerOf(request), { model: body.name });
      return reply.status(201).send(await inventory.register(body, callerOf(request).subject));
    },
    listModels: async (request) => {
      const caller = callerOf(request);
      return { models: (await inventory.list()).filter((model) => isInScope(caller, { model: model.name })) };
    },
    getModel: async (request) => {
      const name = (request.params as { name: string }).name;
      assertInScope(callerOf(request), { model: name });
      return inventory.get(name);
    },
  };
}
