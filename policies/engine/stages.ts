/** The lifecycle events a decision can gate, each with its own Rego entrypoint. */
export const STAGES = ['training', 'deployment', 'monitoring'] as const;
export type Stage = (typeof STAGES)[number];

/** `arbiter/<stage>/decision`: the rule each stage's package exposes (policies/<stage>/decision.rego). */
export function entrypointOf(stage: Stage): string {
  return `arbiter/${stage}/decision`;
}

export const ENTRYPOINTS: readonly string[] = STAGES.map(entrypointOf);

export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}
