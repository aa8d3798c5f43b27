import { z } from 'zod';
import { PolicyError } from '../errors.ts';
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

// The decision document is the contract between Rego and the service (DESIGN.md). A policy is code that
// compliance officers change, so what it returns is checked, never taken on trust: a list that is not a list,
// or a violation without its rule, is refused rather than read as "no findings".
const violation = z.looseObject({
  rule: z.string().min(1),
  title: z.string(),
  regulation: z.array(z.string()),
  severity: z.string().min(1),
  message: z.string(),
  evidence_keys: z.array(z.string()),
  waiver_id: z.string().optional(),
});
const obligation = z.looseObject({ rule: z.string().min(1), type: z.string().min(1) });
const decisionDocument = z
  .strictObject({
    allow: z.boolean(),
    deny: z.array(violation).default([]),
    warn: z.array(violation).default([]),
    obligations: z.array(obligation).default([]),
    waived: z.array(violation.extend({ waiver_id: z.string().min(1) })).default([]),
  })
  .refine((doc) => !(doc.allow && doc.deny.length > 0), {
    message: 'allow is true while deny lists unwaived denials',
    path: ['allow'],
  });

/**
 * The decision document an entrypoint returned, checked against the contract, with Rego's sets sorted: they
 * come back as arrays in no promised order, and sorting by canonical JSON makes two evaluations of the same
 * input byte-identical, which replay and the ledger's hashes rely on. Throws POLICY_EVAL_FAILED, naming the
 * first field at fault, for anything else.
 */
export function normalizeDecision(value: unknown): Decision {
  const parsed = decisionDocument.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    throw new PolicyError(
      'POLICY_EVAL_FAILED',
      value === undefined || value === null
        ? 'the policy returned no decision document'
        : `the policy returned a malformed decision document: ${at}${issue.message}`,
    );
  }
  const sorted = <T>(items: readonly T[]): T[] =>
    items
      .map((item) => [canonicalJson(item), item] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, item]) => item);
  const doc = parsed.data;
  return {
    allow: doc.allow,
    deny: sorted<Violation>(doc.deny),
    warn: sorted<Violation>(doc.warn),
    obligations: sorted<Obligation>(doc.obligations),
    waived: sorted<Violation>(doc.waived),
  };
}
