import EVIDENCE from './schema/evidence.schema.json' with { type: 'json' };
import SPEC from './schema/spec.schema.json' with { type: 'json' };

/** JSON Schema (draft-07) of the evidence document, arbiter.evidence/v1. */
export const EVIDENCE_SCHEMA: Readonly<Record<string, unknown>> = Object.freeze(EVIDENCE);
/** JSON Schema (draft-07) of the evaluation spec. */
export const SPEC_SCHEMA: Readonly<Record<string, unknown>> = Object.freeze(SPEC);
