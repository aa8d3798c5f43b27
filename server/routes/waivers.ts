import type { WaiverChange, WaiverRequest, WaiverStore } from '../../policies/index.ts';
import { assertInScope, isInScope } from '../auth/index.ts';
import { actorOf, callerOf, idAsStored, type Handlers } from './types.ts';

/**
 * Every change of a waiver is a ledger entry in the waiver's region; the answer carries its receipt. A caller
 * limited to some models or regions requests, decides and sees only waivers within them.
 */
export function waiverHandlers(waivers: WaiverStore): Handlers {
  const record = ({ waiver, ledger }: WaiverChange) => ({
    ...waiver,
    ledger: { region: ledger.region, seq: ledger.seq, leaf_hash: ledger.leafHash },
  });
  const noteOf = (body: unknown) => (body as { note?: string } | undefined)?.note;
  return {
    requestWaiver: async (request, reply) => {
      const body = request.body as WaiverRequest;
      assertInScope(callerOf(request), { model: body.model, region: body.region });
      return reply.status(201).send(await record(await waivers.request(body, actorOf(request))));
    },
    listWaivers: async (request) => {
      const caller = callerOf(request);
      const all = await waivers.list(request.query as Parameters<WaiverStore['list']>[0]);
      return { waivers: all.filter((waiver) => isInScope(caller, waiver)) };
    },
    approveWaiver: async (request) => {
      const id = idAsStored((request.params as { id: string }).id);
      assertInScope(callerOf(request), await waivers.get(id));
      return record(await waivers.approve(id, actorOf(request), noteOf(request.body)));
    },
    rejectWaiver: async (request) => {
      const id = idAsStored((request.params as { id: string }).id);
      assertInScope(callerOf(request), await waivers.get(id));
      return record(await waivers.reject(id, actorOf(request), noteOf(request.body)));
    },
    revokeWaiver: async (request) => {
      const id = idAsStored((request.params as { id: string }).id);
      assertInScope(callerOf(request), await waivers.get(id));
      return record(await waivers.revoke(id, actorOf(request), noteOf(request.body)!));
    },
  };
}
