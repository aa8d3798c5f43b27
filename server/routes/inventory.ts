import type { ModelInventory, ModelRegistration } from '../inventory/models.ts';
import { callerOf, type Handlers } from './types.ts';

export function inventoryHandlers(inventory: ModelInventory): Handlers {
  return {
    registerModel: async (request, reply) =>
      reply
        .status(201)
        .send(await inventory.register(request.body as ModelRegistration, callerOf(request).subject)),
    listModels: async () => ({ models: await inventory.list() }),
    getModel: async (request) => inventory.get((request.params as { name: string }).name),
  };
}
