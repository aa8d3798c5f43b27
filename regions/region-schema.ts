import { Cron } from 'croner';
import { z } from 'zod';

// A region id doubles as a folder name, a ledger log name and a Rego data key: keep it boring.
const REGION_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

const timezone = z.string().refine(
  (tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not an IANA time zone' },
);

const locale = z.string().refine(
  (tag) => {
    try {
      return Intl.getCanonicalLocales(tag).length === 1;
    } catch {
      return false;
    }
  },
  { message: 'not a BCP 47 locale tag' },
);

const cron = z.string().refine(
  (pattern) => {
    try {
      // Without a callback croner only parses; nothing gets scheduled.
      new Cron(pattern);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a cron expression' },
);

// A regular expression the policies match with RE2 (Rego's regex.match), case-insensitive. It must compile
// here too, and use nothing RE2 lacks (lookaround, backreferences), or it would match nothing there.
const re2Pattern = z
  .string()
  .min(1)
  .refine(
    (pattern) => {
      try {
        new RegExp(pattern, 'i');
      } catch {
        return false;
      }
      return !/\(\?<?[=!]|\\[1-9]|\\k</.test(pattern);
    },
    { message: 'not a regular expression RE2 accepts (no lookaround or backreferences)' },
  );

const rate = z.number().min(0).max(1);
const count = z.number().int().min(0);
const days = z.number().int().positive();

/** Thresholds and switches the Rego policies read as `data.regions[<id>]`. Nothing is hard-coded in Rego. */
export const policyDataSchema = z
  .object({
    fairness: z
      .object({
        impact_ratio_min: rate,
        demographic_parity_difference_max: rate,
        equalized_odds_difference_max: rate,
        min_group_size: count,
        // `warn` where the applicable framework is voluntary (e.g. Singapore): gaps are reported, never blocking.
        enforcement: z.enum(['deny', 'warn']).default('deny'),
        // Attributes the fairness evidence must report at deployment and monitoring (FAIR-ATTRIBUTE-MISSING):
        // `name` for messages, `pattern` (case-insensitive) for the evidence's attribute keys, an intersection
        // being its attributes joined by '&' (evaluators/evaluate.ts). NYC LL144 §5-301(b): sex,
        // race/ethnicity and their intersection.
        required_attributes: z
          .array(z.object({ name: z.string().min(1), pattern: re2Pattern }).strict())
          .default([]),
        // Thresholds no regulation of the region sets as a pass/fail line: their findings warn, never deny,
        // whatever `enforcement` says (NYC LL144 reports impact ratios but sets no threshold, REGULATIONS.md
        // §3). The evidence findings (FAIR-EVIDENCE-MISSING, FAIR-ATTRIBUTE-MISSING) follow `enforcement`.
        advisory_thresholds: z
          .array(z.enum(['impact_ratio', 'demographic_parity_difference', 'equalized_odds_difference']))
          .default([])
          .refine((list) => new Set(list).size === list.length, { message: 'a threshold is listed twice' }),
      })
      .strict(),
    performance: z.object({ accuracy_min: rate, roc_auc_min: rate }).strict(),
    drift: z.object({ psi_max: z.number().positive(), ks_p_value_min: rate }).strict(),
    data_quality: z.object({ missing_rate_max: rate, min_group_count: count }).strict(),
    security: z
      .object({ blocking_severities: z.array(z.enum(['critical', 'high', 'medium', 'low'])).min(1) })
      .strict(),
    evidence: z
      .object({
        max_age_days: days,
        // Calendar months, as the law counts a year: 365 days falls a day short across 29 February.
        bias_audit_max_age_months: z.number().int().min(1).max(120).optional(),
        // How far a piece of evidence may be dated after the decision clock before it counts as future-dated
        // (EVIDENCE-FUTURE-DATED): the clocks of the machine that gathered it and of this service disagree a
        // little. Whole seconds; 5 minutes unless the region says otherwise.
        clock_skew_seconds: count.default(300),
      })
      .strict(),
    model_card: z.object({ required_fields: z.array(z.string().min(1)).min(1) }).strict(),
    human_review_risk_tiers: z.array(z.enum(['minimal', 'limited', 'high', 'unacceptable'])),
  })
  .strict();

export const regionSchema = z
  .object({
    id: z.string().regex(REGION_ID, 'lower-case letters, digits and dashes'),
    name: z.string().min(1),
    timezone,
    locale,
    ledger: z.object({ origin: z.string().regex(/^[^\s]+$/, 'no whitespace') }).strict(),
    retention: z.object({ years: z.number().int().positive() }).strict(),
    // A rule's METADATA names the regulations it serves by these ids, and a finding cites those of them its
    // decision's region lists here (policyDataDocument puts the ids into the policy data).
    regulations: z
      .array(
        z
          .object({
            id: z.string().regex(REGION_ID, 'lower-case letters, digits and dashes'),
            title: z.string().min(1),
            articles: z.array(z.string().min(1)),
          })
          .strict(),
      )
      .min(1)
      .refine((list) => new Set(list.map((r) => r.id)).size === list.length, {
        message: 'a regulation id is listed twice',
      }),
    policy_data: policyDataSchema,
    reports: z.array(z.object({ template: z.string().min(1), schedule: cron }).strict()),
  })
  .strict();

export type Region = z.infer<typeof regionSchema>;
export type RegionPolicyData = Region['policy_data'];
/** What the policies read as `data.regions[<id>]`: the region's policy_data and the ids of its regulations. */
export type RegionPolicyDocument = RegionPolicyData & { readonly regulations: readonly string[] };
