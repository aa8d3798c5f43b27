import type { EvaluationRequest, Evaluations } from '../evaluations/evaluations.ts';
import { callerOf, type Handlers } from './types.ts';

export function evaluationHandlers(evaluations: Evaluations): Handlers {
  const idOf = (params: unknown) => (params as { id: string }).id;
  return {
    createEvaluation: async (request, reply) =>
      reply.status(202).send(await evaluations.submit(request.body as EvaluationRequest, callerOf(request))),
    getEvaluation: async (request) => evaluations.getFor(idOf(request.params), callerOf(request)),
    cancelEvaluation: async (request, reply) =>
      reply.status(202).send(await evaluations.cancel(idOf(request.params), callerOf(request))),
  };
}
