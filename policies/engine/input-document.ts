import { canonicalJson } from './canonical-json.ts';
import { sha256Hex } from './bundle.ts';
import type { Stage } from './stages.ts';

/** An approved, unexpired waiver as the policies see it (policies/lib/decision). */
export interface WaiverInput {
  readonly id: string;
  readonly rule: string;
  readonly model: string;
  /** The model version it covers; absent: every version. */
  readonly version?: string;
  readonly region: string;
  /** RFC 3339, UTC. */
  readonly expires_at: string;
}

export interface Subject {
  readonly model: string;
  readonly version: string;
  readonly model_sha256?: string;
}

/**
 * The document a stage entrypoint sees as `input`. Everything a decision depends on is in here or in the
 * bundle's data (thresholds), so that recording this document's hash and the bundle's hash is enough to
 * replay the decision.
 */
export interface InputDocument {
  readonly event: { readonly stage: Stage; readonly region: string; readonly now: string };
  readonly subject: Subject;
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly model_card: Readonly<Record<string, unknown>>;
  readonly context: Readonly<Record<string, unknown>>;
  readonly waivers: readonly WaiverInput[];
  /** The region; its thresholds are bundle data (`data.regions[id]`), covered by the bundle's sha256. */
  readonly region: { readonly id: string };
}

export interface InputParts {
  readonly stage: Stage;
  readonly region: string;
  readonly now: Date;
  readonly subject: Subject;
  readonly evidence: Readonly<Record<string, unknown>>;
  readonly model_card?: Readonly<Record<string, unknown>> | undefined;
  readonly context?: Readonly<Record<string, unknown>> | undefined;
  readonly waivers?: readonly WaiverInput[];
}

/** Assembles the input document; `now` becomes `input.event.now` (RFC 3339 UTC), the only clock policies see. */
export function buildInputDocument(parts: InputParts): InputDocument {
  return {
    event: { stage: parts.stage, region: parts.region, now: parts.now.toISOString() },
    subject: parts.subject,
    evidence: parts.evidence,
    model_card: parts.model_card ?? {},
    context: parts.context ?? {},
    waivers: parts.waivers ?? [],
    region: { id: parts.region },
  };
}

/** sha256 (hex) of the RFC 8785 canonical form of the input document: what the ledger records. */
export function hashInput(input: unknown): string {
  return sha256Hex(canonicalJson(input));
}
