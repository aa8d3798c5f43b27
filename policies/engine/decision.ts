import { canonicalJson } from './canonical-json.ts';

/** One finding of a rule, as policies/lib/result/result.rego shapes it. */
export interface Violation {
  readonly rule: string;
  readonly title: string;
  readonly regulation: readonly string[];
  readonly severity: string;
  readonly message: string;
  readonly evidence_keys: readonly string[];
  /** Set on the entries of `waived`: the waiver that covered this denial. */
  readonly waiver_id?: string;
}

/** A duty the decision imposes (e.g. `{type: 'human_review', ...}`), shaped by result.obligation. */
export interface Obligation {
  readonly rule: string;
  readonly type: string;
  readonly [key: string]: unknown;
}

/** What a stage entrypoint returns (DESIGN.md): allow is false whenever an unwaived denial exists. */
export interface Decision {
  readonly allow: boolean;
  readonly deny: readonly Violation[];
  readonly warn: readonly Violation[];
  readonly obligations: readonly Obligation[];
  readonly waived: readonly Violation[];
}

/**
 * Rego sets come back as arrays in no promised order; sorting by canonical JSON makes two evaluations of
 * the same input byte-identical, which replay and the ledger's hashes rely on.
 */
export function normalizeDecision(value: unknown): Decision | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const doc = value as Record<string, unknown>;
  if (typeof doc.allow !== 'boolean') return undefined;
  const list = <T>(key: string): T[] => {
    const items = Array.isArray(doc[key]) ? (doc[key] as T[]) : [];
    return items
      .map((item) => [canonicalJson(item), item] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, item]) => item);
  };
  return {
    allow: doc.allow,
    deny: list<Violation>('deny'),
    warn: list<Violation>('warn'),
    obligations: list<Obligation>('obligations'),
    waived: list<Violation>('waived'),
  };
}
