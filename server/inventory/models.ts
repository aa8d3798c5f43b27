import type { Kysely, Selectable } from 'kysely';
import { ServerError } from '../errors.ts';
import type { ModelTable, ServerTables } from '../db/schema.ts';

export type Model = Selectable<ModelTable>;
export type ModelRegistration = Pick<Model, 'name' | 'owner' | 'intended_purpose' | 'risk_tier'> & {
  description?: string;
};

/** The model inventory: what Arbiter governs, who owns it, what it is for, its risk tier. */
export class ModelInventory {
  constructor(private readonly db: Kysely<ServerTables>) {}

  async register(input: ModelRegistration, createdBy: string): Promise<Model> {
    const row = await this.db
      .insertInto('model')
      .values({ ...input, description: input.description ?? null, created_by: createdBy })
      .onConflict((oc) => oc.column('name').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new ServerError('CONFLICT', `model ${input.name} is registered already`);
    return row;
  }

  list(): Promise<Model[]> {
    return this.db.selectFrom('model').selectAll().orderBy('name').execute();
  }

  async get(name: string): Promise<Model> {
    const row = await this.db.selectFrom('model').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new ServerError('NOT_FOUND', `no model named ${name}`);
    return row;
  }
}
