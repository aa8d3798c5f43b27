// Not through evaluators/index.ts, which loads ONNX Runtime: this one module imports nothing.
import { UNKNOWN_CATEGORY } from '../evaluators/categories.ts';
import { hashCanonical } from './canonical.ts';
import { ReportError } from './errors.ts';
import { parsePeriod, type Period } from './period.ts';
import type { TemplateInfo } from './templates.ts';
import type {
  EvidenceDocument,
  EvidenceRecord,
  FairnessAttribute,
  FairnessGroup,
  ImpactAssessment,
  Ll144Figures,
  ModelDocumentation,
  ModelRecord,
  PolicyChangeRecord,
  ReportInput,
} from './types.ts';

// The view model is everything a template prints, computed from the input: handlebars runs in strict mode, so
// every field a template names must exist here (null where the data has nothing), and a misspelt field is a
// template error rather than a silently empty cell.

/** NYC 6 RCNY §5-301: a category under 2% of the data may be left out of the impact-ratio calculation. */
const SMALL_CATEGORY_SHARE = 0.02;
/** UGESP §1607.4(D): a rate under four-fifths of the highest group's is evidence of adverse impact. */
const FOUR_FIFTHS = 0.8;

const SEX_ATTRIBUTE = /^(sex|gender)$/i;
const RACE_ATTRIBUTE = /^(race|ethnicity|race_ethnicity|race\/ethnicity)$/i;
/** Ethnicity and race in one attribute, as EEO-1 and §5-301(b) count them. */
const RACE_AND_ETHNICITY = /^(race_ethnicity|race\/ethnicity)$/i;

/**
 * The race/ethnicity attribute of an LL144 table: the attribute itself (Table 2), or the race/ethnicity part of an
 * intersection of exactly race/ethnicity and sex, in either order ("race&sex", "sex&race": Table 3); null for any
 * other, an intersection with another attribute (age, disability) included.
 */
function racePartOf(attribute: string, intersection: boolean): string | null {
  const parts = attribute.split('&');
  if (!intersection) return parts.length === 1 && RACE_ATTRIBUTE.test(attribute) ? attribute : null;
  return parts.length === 2 && parts.some((p) => SEX_ATTRIBUTE.test(p))
    ? (parts.find((p) => RACE_ATTRIBUTE.test(p)) ?? null)
    : null;
}

const isRaceBySex = (attribute: string): boolean => racePartOf(attribute, true) !== null;

/**
 * LL144's Table 2, or Table 3 with `intersection`. §5-301(b)'s categories are EEO-1's, ethnicity and race in one
 * (Hispanic or Latino; each race, not Hispanic or Latino): an attribute that combines them is the table. Evidence
 * with race and ethnicity apart holds those categories only across the two, so each is printed, race first.
 */
function raceTables(tables: readonly AttributeTable[], intersection: boolean): AttributeTable[] {
  const matching = tables.filter((t) => racePartOf(t.attribute, intersection) !== null);
  const combined = matching.filter((t) => RACE_AND_ETHNICITY.test(racePartOf(t.attribute, intersection)!));
  const raceFirst = (t: AttributeTable) => (/^race$/i.test(racePartOf(t.attribute, intersection)!) ? 0 : 1);
  return (combined.length > 0 ? combined : matching).sort((a, b) => raceFirst(a) - raceFirst(b));
}

/** The values of an intersection's group name, as the evaluator joins them: '&' between, '\\' escaping either. */
function intersectionValues(group: string): string[] {
  const values = [''];
  for (let i = 0; i < group.length; i++) {
    const c = group[i]!;
    if (c === '\\' && i + 1 < group.length) values[values.length - 1] += group[++i];
    else if (c === '&') values.push('');
    else values[values.length - 1] += c;
  }
  return values;
}

/**
 * Whether a group of `attribute` is an unknown category (§5-301: counted, never rated): a value such as
 * "Unknown" that the data holds for people who did not say, or, in an intersection, a group with such a value.
 * Arbiter's evaluator counts such values as missing by this same pattern; only evidence from its earlier versions,
 * or from elsewhere, rates them as groups.
 */
const isUnknownOf =
  (attribute: string) =>
  (group: string): boolean =>
    (attribute.includes('&') ? intersectionValues(group) : [group]).some((v) => UNKNOWN_CATEGORY.test(v));

/** Every field of a model's documentation, in the order the templates present them. */
export const DOC_FIELDS: readonly (keyof ModelDocumentation)[] = [
  'organisation',
  'team',
  'contact',
  'senior_responsible_owner',
  'supplier',
  'supplier_company_no',
  'procurement_type',
  'data_access_terms',
  'description',
  'scope',
  'benefits',
  'alternatives_considered',
  'model_type',
  'phase',
  'process_integration',
  'outputs',
  'human_review',
  'training',
  'appeals',
  'notice',
  'contingency',
  'data_sources',
  'data_collection',
  'data_sharing',
  'data_storage',
  'data_quality',
  'representativeness',
  'sensitive_attributes',
  'design_choices',
  'architecture',
  'cybersecurity',
  'risk_management',
  'standards_applied',
  'declaration_of_conformity',
  'pmm_plan',
];

/** What each performance metric means (IV.4 asks why it was chosen; the definition is the reader's key). */
const METRIC_DEFINITIONS: Readonly<Record<string, string>> = {
  accuracy: 'share of predictions that are correct',
  precision: 'share of positive predictions that are correct',
  recall: 'share of actual positives predicted positive (TPR)',
  f1: 'harmonic mean of precision and recall',
  roc_auc: 'area under the ROC curve',
  brier: 'mean squared error of predicted probabilities (lower is better)',
  log_loss: 'negative log-likelihood of the labels (lower is better)',
};

export interface GroupRow {
  group: string;
  count: number;
  /**
   * How many of the group were selected: count × selection rate, rounded to a whole person (the evidence gives
   * rates, which the evaluator computes from these counts); null for scoring rates, which select no one.
   */
  selected: number | null;
  share: number | null;
  rate: number | null;
  impact_ratio: number | null;
  excluded: boolean;
  /** Why the group is left out of the impact ratios; null when it takes part. */
  excluded_reason: string | null;
  below: boolean;
  /**
   * UGESP's significance test, as the evidence gives it (`four_fifths.groups`): the two-proportion z-test of the
   * group's selection rate against the reference group's. Null where the evidence has none for the group.
   */
  z: number | null;
  p_value: number | null;
  significant: boolean | null;
  /**
   * UGESP: the further selections the group needed for its rate to reach the threshold times the reference
   * group's (0 when it does); null where it is not compared or has no selection rate.
   */
  shortfall: number | null;
  metrics: {
    tpr: number | null;
    fpr: number | null;
    fnr: number | null;
    tnr: number | null;
    ppv: number | null;
    npv: number | null;
    accuracy: number | null;
  };
}

export interface AttributeTable {
  attribute: string;
  rate_kind: 'selection' | 'scoring';
  /** With scoring rates: the median score of the full sample they count above; null where none is recorded. */
  median_score: number | null;
  total: number;
  unknown_count: number;
  reference_group: string | null;
  rows: GroupRow[];
  /**
   * True when the impact ratios are the evidence's own (those the policy gate judged, or the evaluator's LL144
   * figures); false when the evidence gives none and they are computed here from the rates.
   */
  ratios_from_evidence: boolean;
  /** The evidence's significance level for `significant`; null where it has no significance test. */
  alpha: number | null;
  excluded_groups: string[];
  below_groups: string[];
  demographic_parity_difference: number | null;
  demographic_parity_ratio: number | null;
  equalized_odds_difference: number | null;
  equalized_odds_ratio: number | null;
  /**
   * LL144, for a tool that both selects and scores: the scoring rates beside the selection rates above, since
   * §5-301 asks for each kind of output the tool gives.
   */
  scoring_table?: AttributeTable;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

const groupMetrics = (group: FairnessGroup | undefined): GroupRow['metrics'] => ({
  tpr: num(group?.tpr),
  fpr: num(group?.fpr),
  fnr: num(group?.fnr),
  tnr: num(group?.tnr),
  ppv: num(group?.ppv),
  npv: num(group?.npv),
  accuracy: num(group?.accuracy),
});

// 0.44 / 0.55 is 0.7999…: a ratio that equals the threshold to 12 digits meets it.
const isBelow = (impactRatio: number | null, threshold: number) =>
  impactRatio !== null && impactRatio < threshold - 1e-12;

function parityOf(fa: FairnessAttribute) {
  return {
    demographic_parity_difference: num(fa.demographic_parity_difference),
    demographic_parity_ratio: num(fa.demographic_parity_ratio),
    equalized_odds_difference: num(fa.equalized_odds_difference),
    equalized_odds_ratio: num(fa.equalized_odds_ratio),
  };
}

/** The rule an attribute's groups are compared under. */
export interface ComparisonRule {
  /** Impact ratios under it are flagged. */
  readonly threshold: number;
  /**
   * NYC 6 RCNY §5-301(d): categories under this share of everyone assessed are left out of LL144's impact
   * ratios; 0 where the policy gate's comparison is the one in force instead.
   */
  readonly smallShare: number;
  /** The region's `fairness.min_group_size`: FAIR-IMPACT-RATIO compares only groups this large. */
  readonly minGroupSize: number | null;
}

const LEFT_OUT = 'left out of the impact ratios';
const LL144_LEFT_OUT = `under 2% of the data: ${LEFT_OUT} (§5-301(d))`;

/**
 * The groups the policy gate leaves out of an attribute's impact-ratio comparison, each with why: those under the
 * region's min_group_size, and only those (FAIR-IMPACT-RATIO judges every group at least that large). The
 * evidence's own `excluded_groups` do not count: the evaluator's spec may set a larger min_group_size than the
 * region's, and the gate still judges the impact ratio the evidence gives such a group. Without a min_group_size
 * (an input that carries no region policy data) every group is compared.
 */
export function groupsLeftOut(fa: FairnessAttribute, minGroupSize: number | null): Map<string, string> {
  const out = new Map<string, string>();
  if (minGroupSize !== null)
    for (const [group, stats] of Object.entries(fa.groups))
      if (stats.count < minGroupSize)
        out.set(group, `count ${stats.count} is below min_group_size ${minGroupSize}`);
  return out;
}

/** What a row shows that follows from its figures: the selected count, the flag, and UGESP's test and shortfall. */
function groupRow(
  fa: FairnessAttribute,
  kind: AttributeTable['rate_kind'],
  figures: {
    group: string;
    count: number;
    share: number | null;
    rate: number | null;
    impact_ratio: number | null;
    excluded_reason: string | null;
  },
  reference: {
    rate: number | null;
    threshold: number;
    /** Whether the evidence's z-tests are against this reference, so that the row may print them. */
    tested: boolean;
  },
): GroupRow {
  const { group, count, rate, impact_ratio } = figures;
  const selected = kind === 'selection' && rate !== null ? Math.round(count * rate) : null;
  const below = isBelow(impact_ratio, reference.threshold);
  // The 1e-9 keeps 0.8 · 0.5 · 1000 (400.00000000000006 in floating point) at the 400 selections it is.
  const needed =
    reference.rate === null ? null : Math.ceil(reference.threshold * reference.rate * count - 1e-9);
  const shortfall =
    selected === null || impact_ratio === null || needed === null
      ? null
      : below
        ? Math.max(0, needed - selected)
        : 0;
  // The evidence's z-test compares selection rates (a scoring table has none) with its reference group's.
  const test = kind === 'selection' && reference.tested ? fa.four_fifths?.groups?.[group] : undefined;
  return {
    ...figures,
    selected,
    excluded: figures.excluded_reason !== null,
    below,
    z: num(test?.z),
    p_value: num(test?.p_value),
    significant: typeof test?.significant === 'boolean' ? test.significant : null,
    shortfall,
    metrics: groupMetrics(fa.groups[group]),
  };
}

/** The compared group with the highest rate, or null when no group with a rate is compared. */
function highestRate(groups: readonly string[], rateOf: (g: string) => number | null): string | null {
  let reference: string | null = null;
  for (const g of groups) {
    const r = rateOf(g);
    if (r !== null && (reference === null || r > (rateOf(reference) ?? -1))) reference = g;
  }
  return reference;
}

/**
 * Rates and impact ratios of one sensitive attribute, under the rule in force. Unknown categories are counted
 * apart and never compared.
 * - LL144 (`smallShare` > 0): the evaluator's `ll144` block is printed as it is, since the report must show what
 *   the evidence shows, but for its unknown categories. Without one the ratios are computed from the rates,
 *   leaving out categories under `smallShare` of everyone assessed (unknowns included, as §5-301 counts them).
 * - Otherwise the policy gate's: the groups it does not compare (`groupsLeftOut`) are shown as left out, and the
 *   impact ratios and reference group are the evidence's, which the gate judged, so that the report agrees with
 *   the decision. Evidence without impact ratios, or whose reference group the report does not compare, has them
 *   computed here, against the highest compared rate.
 */
export function attributeTable(
  attribute: string,
  fa: FairnessAttribute,
  rule: ComparisonRule,
): AttributeTable {
  if (rule.smallShare > 0 && fa.ll144) return ll144Table(attribute, fa, fa.ll144, rule.threshold);
  const names = Object.keys(fa.groups).sort();
  const isUnknown = isUnknownOf(attribute);
  const known = names.filter((g) => !isUnknown(g));
  const unknownInGroups = names.filter(isUnknown).reduce((n, g) => n + (fa.groups[g]?.count ?? 0), 0);
  // The evaluator counts rows without a value, or with one that names the unknown category, as `missing` (always
  // written, 0 if none); evidence from its earlier versions, or from elsewhere, rates a value such as "Unknown" as
  // a group of its own. Both are the unknown category.
  const unknown_count = fa.unknown_count ?? (fa.missing ?? 0) + unknownInGroups;
  const total = known.reduce((n, g) => n + (fa.groups[g]?.count ?? 0), 0);
  const assessed = total + unknown_count;
  const rate_kind = names.some((g) => fa.groups[g]?.selection_rate !== undefined) ? 'selection' : 'scoring';
  const rateOf = (g: string) =>
    num(rate_kind === 'selection' ? fa.groups[g]?.selection_rate : fa.groups[g]?.scoring_rate);
  const shareOf = (g: string) => (assessed > 0 ? (fa.groups[g]?.count ?? 0) / assessed : null);
  const leftOut =
    rule.smallShare > 0
      ? new Map(known.filter((g) => (shareOf(g) ?? 1) < rule.smallShare).map((g) => [g, LL144_LEFT_OUT]))
      : new Map([...groupsLeftOut(fa, rule.minGroupSize)].map(([g, why]) => [g, `${why}: ${LEFT_OUT}`]));
  const compared = known.filter((g) => !leftOut.has(g) && rateOf(g) !== null);
  const named = fa.four_fifths?.reference_group;
  // The evidence's ratios are against its reference group: against one the report does not compare (a group under
  // the region's min_group_size, or in evidence that rated it, an unknown category) they are not this table's,
  // and are computed from the rates instead.
  const fromEvidence =
    rule.smallShare === 0 &&
    compared.length > 0 &&
    compared.every((g) => num(fa.groups[g]?.impact_ratio) !== null) &&
    (typeof named !== 'string' || compared.includes(named));
  const reference = fromEvidence && typeof named === 'string' ? named : highestRate(compared, rateOf);
  const refRate = reference === null ? null : rateOf(reference);
  const rows = known.map((g) => {
    const rate = rateOf(g);
    const excluded_reason = leftOut.get(g) ?? null;
    const impact_ratio =
      excluded_reason !== null || rate === null
        ? null
        : fromEvidence
          ? num(fa.groups[g]?.impact_ratio)
          : refRate
            ? rate / refRate
            : null;
    return groupRow(
      fa,
      rate_kind,
      { group: g, count: fa.groups[g]!.count, share: shareOf(g), rate, impact_ratio, excluded_reason },
      { rate: refRate, threshold: rule.threshold, tested: reference !== null && reference === named },
    );
  });
  return {
    attribute,
    rate_kind,
    median_score: null,
    total,
    unknown_count,
    reference_group: reference,
    rows,
    ratios_from_evidence: fromEvidence,
    alpha: rate_kind === 'selection' ? num(fa.four_fifths?.alpha) : null,
    excluded_groups: rows.filter((r) => r.excluded).map((r) => r.group),
    below_groups: rows.filter((r) => r.below).map((r) => r.group),
    ...parityOf(fa),
  };
}

function ll144Table(
  attribute: string,
  fa: FairnessAttribute,
  ll144: Ll144Figures,
  threshold: number,
): AttributeTable {
  const selects = Object.values(ll144.selection).some((c) => num(c.selection_rate) !== null);
  const scoring = ll144.scoring ? ll144RatesTable(attribute, fa, ll144, threshold, 'scoring') : null;
  if (!selects) return scoring ?? ll144RatesTable(attribute, fa, ll144, threshold, 'selection');
  const table = ll144RatesTable(attribute, fa, ll144, threshold, 'selection');
  return scoring ? { ...table, scoring_table: scoring } : table;
}

function ll144RatesTable(
  attribute: string,
  fa: FairnessAttribute,
  ll144: Ll144Figures,
  threshold: number,
  kind: AttributeTable['rate_kind'],
): AttributeTable {
  const selection = kind === 'selection';
  const categories = (selection ? ll144.selection : ll144.scoring) ?? ll144.selection;
  const rateOf = (g: string) => num(selection ? categories[g]?.selection_rate : categories[g]?.scoring_rate);
  const all = Object.keys(categories).sort();
  const isUnknown = isUnknownOf(attribute);
  const names = all.filter((g) => !isUnknown(g));
  const excludedNames = new Set(selection ? ll144.excluded_under_2pct : []);
  const isExcluded = (g: string) => categories[g]!.excluded_under_2pct || excludedNames.has(g);
  // Scored and decided individuals may differ (a row scored but not decided): each table has its own total.
  const total = selection ? ll144.total : (ll144.scoring_total ?? ll144.total);
  // The evaluator counts rows without a value, or with one that names the unknown category, as unknown; evidence
  // from its earlier versions, or from elsewhere, rates a value such as "Unknown" as a category.
  const unknown =
    (selection ? ll144.unknown_count : (ll144.scoring_unknown_count ?? ll144.unknown_count)) +
    all.filter(isUnknown).reduce((n, g) => n + categories[g]!.count, 0);
  // The evaluator's reference is the most-selected category that counts, i.e. the one whose ratio is 1; where that
  // is an unknown category, which §5-301 keeps out of the ratios, they are computed against the known ones'. Arbiter's
  // evaluator rates none: this is for evidence from its earlier versions, or from elsewhere.
  const reference = highestRate(
    names.filter((g) => !isExcluded(g)),
    rateOf,
  );
  const fromEvidence =
    highestRate(
      all.filter((g) => !isExcluded(g)),
      rateOf,
    ) === reference;
  const refRate = reference === null ? null : rateOf(reference);
  const rows = names.map((g) => {
    const c = categories[g]!;
    const rate = rateOf(g);
    const excluded = isExcluded(g);
    return groupRow(
      fa,
      kind,
      {
        group: g,
        count: c.count,
        share: total > 0 ? c.count / total : null,
        rate,
        impact_ratio: fromEvidence
          ? num(c.impact_ratio)
          : excluded || rate === null || !refRate
            ? null
            : rate / refRate,
        excluded_reason: excluded ? LL144_LEFT_OUT : null,
      },
      { rate: refRate, threshold, tested: reference === fa.four_fifths?.reference_group },
    );
  });
  return {
    attribute,
    rate_kind: kind,
    median_score: selection ? null : num(ll144.median_score),
    total: total - unknown,
    unknown_count: unknown,
    reference_group: reference,
    rows,
    ratios_from_evidence: fromEvidence,
    alpha: selection ? num(fa.four_fifths?.alpha) : null,
    excluded_groups: rows.filter((r) => r.excluded).map((r) => r.group),
    below_groups: rows.filter((r) => r.below).map((r) => r.group),
    ...parityOf(fa),
  };
}

/** Canada DADM: the impact level from the share of the maximum raw score, lowered 15% at ≥80% mitigation. */
export function aiaLevel(a: ImpactAssessment): {
  raw_score: number;
  max_score: number;
  raw_share: number;
  mitigation_share: number | null;
  mitigation_applied: boolean;
  adjusted_share: number;
  level: 'I' | 'II' | 'III' | 'IV';
} | null {
  if (a.raw_score === undefined || !a.max_score) return null;
  const raw_share = a.raw_score / a.max_score;
  const mitigation_share =
    a.mitigation_score !== undefined && a.mitigation_max ? a.mitigation_score / a.mitigation_max : null;
  const mitigation_applied = mitigation_share !== null && mitigation_share >= 0.8;
  const adjusted_share = mitigation_applied ? raw_share * 0.85 : raw_share;
  const level =
    adjusted_share <= 0.25 ? 'I' : adjusted_share <= 0.5 ? 'II' : adjusted_share <= 0.75 ? 'III' : 'IV';
  return {
    raw_score: a.raw_score,
    max_score: a.max_score,
    raw_share,
    mitigation_share,
    mitigation_applied,
    adjusted_share,
    level,
  };
}

/** One row of Annex IV T-A2: a group's performance, for the attribute it is a group of (where known). */
export interface GroupPerformance {
  metric: string;
  attribute: string | null;
  group: string;
  n: number | null;
  value: number | null;
  ci_low: number | null;
  ci_high: number | null;
  gap: number | null;
}

/** The standard normal quantile of a two-sided 95% interval. */
const Z_95 = 1.959963984540054;

/**
 * The 95% Wilson score interval of `successes` in `n` trials: unlike the normal approximation's it stays within
 * [0, 1] and keeps its coverage for small groups and for rates near 0 or 1, which T-A2's groups often are.
 */
function wilsonInterval(successes: number, n: number): [number, number] {
  const p = successes / n;
  const z2 = Z_95 * Z_95;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (Z_95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * Annex IV T-A2 from the fairness evidence, for evidence without `performance_by_group` (Arbiter's evaluator
 * writes none): each group's accuracy over its labelled rows (`labelled`), the 95% Wilson interval of that count
 * of correct predictions, and its gap to the overall accuracy. Evidence without labels has no accuracy, and no rows.
 */
function accuracyByGroup(document: EvidenceDocument | undefined): GroupPerformance[] {
  const overall = num(document?.performance?.['accuracy']);
  return Object.entries(document?.fairness ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .flatMap(([attribute, fa]) =>
      Object.entries(fa.groups)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .flatMap(([group, g]) => {
          const value = num(g.accuracy);
          const n = num(g['labelled']);
          if (value === null && n === null) return [];
          // The evaluator's accuracy is correct / labelled: rounding undoes the division's floating point.
          const ci = value !== null && n !== null && n > 0 ? wilsonInterval(Math.round(value * n), n) : null;
          return [
            {
              metric: 'accuracy',
              attribute,
              group,
              n,
              value,
              ci_low: ci ? ci[0] : null,
              ci_high: ci ? ci[1] : null,
              gap: overall === null || value === null ? null : value - overall,
            },
          ];
        }),
    );
}

const SKIPPED_DRIFT = 'drift.features.';

/**
 * One row per feature the drift evidence reports or `skipped` says was not measured (one with more distinct values
 * than the evaluator counts). DRIFT-PSI denies a feature without a numeric PSI (the evaluator writes null when a
 * sample is empty) and a skipped one as it denies one above `psi_max`: not shown to be stable, so each is an alert,
 * with why it was not measured.
 */
function driftRows(document: EvidenceDocument | undefined, psiMax: number | null) {
  const features = document?.drift?.features ?? {};
  // `skipped` is the evaluator's list of metrics it could not compute; only its drift features concern this table.
  const skipped = (document as { readonly skipped?: unknown } | undefined)?.skipped;
  const notMeasured = new Map<string, string>();
  for (const entry of Array.isArray(skipped) ? (skipped as unknown[]) : []) {
    const { metric, reason } = (entry ?? {}) as { metric?: unknown; reason?: unknown };
    if (typeof metric === 'string' && metric.startsWith(SKIPPED_DRIFT))
      notMeasured.set(
        metric.slice(SKIPPED_DRIFT.length),
        typeof reason === 'string' ? reason : (JSON.stringify(reason) ?? 'no reason given'),
      );
  }
  return [...new Set([...Object.keys(features), ...notMeasured.keys()])].sort().map((feature) => {
    const f = features[feature];
    const psi = num(f?.psi);
    const not_measured = notMeasured.get(feature) ?? (psi === null ? 'no PSI in the evidence' : null);
    return {
      feature,
      test: f?.test ?? null,
      statistic: num(f?.statistic),
      p_value: num(f?.p_value),
      psi,
      /** Why the feature's PSI is not known; null where it is. */
      not_measured,
      alert: psiMax === null ? null : not_measured !== null || (psi as number) > psiMax,
    };
  });
}

function latestEvidence(evidence: readonly EvidenceRecord[], modelId: string): EvidenceRecord | null {
  let best: EvidenceRecord | null = null;
  for (const e of evidence) {
    if (e.model_id !== modelId) continue;
    if (
      !best ||
      e.collected_at > best.collected_at ||
      (e.collected_at === best.collected_at && e.id > best.id)
    )
      best = e;
  }
  return best;
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

const byKey =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

const POLICY_CHANGE_LABELS: Record<PolicyChangeRecord['kind'], string> = {
  activated: 'activated',
  restored: 'activated again at a restart (the branch head was refused or unreadable)',
  rejected: 'refused',
};
/** How much of a refusal's reason the report prints; the ledger entry holds more, and its length and hash. */
const POLICY_REASON_CHARACTERS = 400;

const clip = (text: string, max: number): string => {
  const characters = [...text];
  return characters.length <= max ? text : `${characters.slice(0, max).join('')}…`;
};

function validate(input: ReportInput): void {
  const fail = (message: string) => {
    throw new ReportError('REPORT_INPUT_INVALID', message);
  };
  if (!input.region?.id || !input.region.timezone) fail('region must have an id and a timezone');
  try {
    new Intl.DateTimeFormat(input.region.locale, { timeZone: input.region.timezone });
  } catch (err) {
    throw new ReportError(
      'REPORT_INPUT_INVALID',
      `region ${input.region.id}: bad locale ${input.region.locale} or timezone ${input.region.timezone}`,
      { cause: err },
    );
  }
  if (Number.isNaN(Date.parse(input.generated_at)))
    fail(`generated_at ${JSON.stringify(input.generated_at)} is not a date`);
  const ids = new Set<string>();
  for (const m of input.models) {
    if (ids.has(m.id)) fail(`model ${m.id} appears twice in the inventory`);
    ids.add(m.id);
  }
  for (const d of input.decisions)
    if (!ids.has(d.model_id))
      fail(`decision ${d.decision_id} cites model ${d.model_id}, not in the inventory`);
  for (const e of input.evidence)
    if (!ids.has(e.model_id)) fail(`evidence ${e.id} cites model ${e.model_id}, not in the inventory`);
  for (const w of input.waivers)
    if (!ids.has(w.model_id)) fail(`waiver ${w.id} cites model ${w.model_id}, not in the inventory`);
}

/** The loss permutation importance measures, as the report heads its column. */
const IMPORTANCE_METRICS: Readonly<Record<string, string>> = {
  accuracy_drop: 'Accuracy drop when shuffled',
  mean_abs_score_change: 'Mean |score change| when shuffled',
};

/** One robustness figure: a count of rows, a rate, or a change of score (on the model's 0–1 scale). */
interface RobustnessRow {
  readonly test: string;
  readonly detail: string;
  readonly value: number | null;
  readonly format: 'count' | 'rate' | 'score';
}

/**
 * The evaluator's robustness probes as figures a reader can take in: the rows probed (a count), the decisions
 * noise flips (with the noise it was) and the score change it makes, and per sensitive attribute the
 * decisions a counterfactual swap flips. Variants the model could not score are counted where there are any.
 */
function robustnessRows(r: EvidenceDocument['robustness']): RobustnessRow[] {
  if (!r) return [];
  const rows: RobustnessRow[] = [];
  if (r.sample_rows !== undefined)
    rows.push({
      test: 'Rows probed',
      detail: 'a seeded sample of the evaluation data',
      value: r.sample_rows,
      format: 'count',
    });
  const p = r.perturbation;
  if (p) {
    const noise = `Gaussian noise of ${p.relative_noise} × each numeric feature's standard deviation (${p.features.join(', ') || 'no numeric feature'}), ${p.rows} rows`;
    rows.push(
      { test: 'Decisions flipped by noise', detail: noise, value: p.flip_rate, format: 'rate' },
      {
        test: 'Mean |score change| under noise',
        detail: noise,
        value: p.mean_abs_score_change,
        format: 'score',
      },
      {
        test: 'Largest |score change| under noise',
        detail: noise,
        value: p.max_abs_score_change,
        format: 'score',
      },
    );
    if (p.unscorable)
      rows.push({
        test: 'Noisy rows the model could not score',
        detail: noise,
        value: p.unscorable,
        format: 'count',
      });
  }
  for (const c of [...(r.counterfactual ?? [])].sort((a, b) => (a.attribute < b.attribute ? -1 : 1))) {
    const detail = `${c.attribute} alone set to each of its other values, ${c.rows} rows`;
    rows.push(
      { test: `Counterfactual flip rate: ${c.attribute}`, detail, value: c.flip_rate, format: 'rate' },
      {
        test: `Mean |score change|: ${c.attribute}`,
        detail,
        value: c.mean_abs_score_change,
        format: 'score',
      },
    );
    if (c.unscorable)
      rows.push({
        test: `Swapped rows the model could not score: ${c.attribute}`,
        detail,
        value: c.unscorable,
        format: 'count',
      });
  }
  return rows;
}

export interface ChartRequest {
  readonly key: string;
  readonly kind: 'decisions' | 'impact' | 'accuracy' | 'selection' | 'importance';
  readonly model_id?: string;
  readonly attribute?: string;
}

/** Builds the view model a template is rendered with. `charts` maps chart keys to rendered SVG. */
export function buildViewModel(
  input: ReportInput,
  template: TemplateInfo,
  period: Period = parsePeriod(input.period, input.region.timezone, template.period),
) {
  validate(input);
  const region = input.region;
  const fairnessMin = num(region.policy_data?.fairness?.impact_ratio_min);
  const threshold = fairnessMin ?? FOUR_FIFTHS;
  const smallShare = template.id === 'us-nyc/ll144-bias-audit' ? SMALL_CATEGORY_SHARE : 0;
  const minGroupSize = num(region.policy_data?.fairness?.min_group_size);
  // UGESP's report adds to each table the significance test and the shortfall (REGULATIONS.md §4).
  const significanceTests = template.id === 'us/adverse-impact-quarterly';
  const perfPolicy = (region.policy_data?.['performance'] ?? {}) as Record<string, unknown>;
  const driftPolicy = (region.policy_data?.['drift'] ?? {}) as Record<string, unknown>;
  const psiMax = num(driftPolicy['psi_max']);

  const models = [...input.models].sort(byKey((m: ModelRecord) => m.id));
  const decisionsByModel = countBy(input.decisions, (d) => d.model_id);

  // Decisions: counts, by stage, denials by rule (waived or not).
  const allowed = input.decisions.filter((d) => d.allow).length;
  const waivedDecisions = input.decisions.filter((d) => d.allow && d.waived_rules.length > 0).length;
  const byStage = [...countBy(input.decisions, (d) => d.stage)]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([stage, ds]) => ({
      stage,
      total: ds.length,
      allowed: ds.filter((d) => d.allow).length,
      denied: ds.filter((d) => !d.allow).length,
    }));
  const ruleCounts = new Map<string, { count: number; waived: number }>();
  for (const d of input.decisions) {
    for (const rule of d.denied_rules) {
      const c = ruleCounts.get(rule) ?? { count: 0, waived: 0 };
      c.count += 1;
      if (d.waived_rules.includes(rule)) c.waived += 1;
      ruleCounts.set(rule, c);
    }
  }
  const denialsByRule = [...ruleCounts]
    .map(([rule, c]) => ({ rule, count: c.count, waived: c.waived, unwaived: c.count - c.waived }))
    .sort((a, b) => b.count - a.count || (a.rule < b.rule ? -1 : 1));

  // Policies: the commit in force as the period began, what changed within it, and what each commit decided.
  const start = period.start.getTime();
  const changes = [...(input.policy_changes ?? [])].sort((a, b) => a.seq - b.seq);
  const activation = changes.filter((c) => c.kind !== 'rejected' && Date.parse(c.at) < start).at(-1);
  const policyView = (c: PolicyChangeRecord) => ({
    seq: c.seq,
    change: POLICY_CHANGE_LABELS[c.kind],
    commit: c.commit,
    committer: c.committer,
    at: c.at,
    bundle_sha256: c.bundle_sha256 ?? null,
    reason: c.reason === undefined ? null : clip(c.reason, POLICY_REASON_CHARACTERS),
  });
  const byRevision = [...countBy(input.decisions, (d) => d.policy_revision ?? '')]
    .filter(([revision]) => revision !== '')
    .map(([revision, ds]) => ({
      revision,
      total: ds.length,
      allowed: ds.filter((d) => d.allow).length,
      denied: ds.filter((d) => !d.allow).length,
      first: ds.map((d) => d.decided_at).sort()[0]!,
    }))
    .sort(byKey((r) => r.first));

  const modelViews = models.map((m) => {
    const ev = latestEvidence(input.evidence, m.id);
    const doc = Object.fromEntries(DOC_FIELDS.map((f) => [f, m.documentation?.[f] ?? null])) as Record<
      keyof ModelDocumentation,
      string | null
    >;
    const fairness = Object.entries(ev?.document.fairness ?? {})
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([attr, fa]) => attributeTable(attr, fa, { threshold, smallShare, minGroupSize }));
    const findAttr = (test: (a: string) => boolean) => fairness.find((t) => test(t.attribute)) ?? null;
    const performance = Object.entries(ev?.document.performance ?? {})
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([metric, value]) => {
        const declared = num(perfPolicy[`${metric}_min`]);
        const v = num(value);
        return {
          metric,
          definition: METRIC_DEFINITIONS[metric] ?? null,
          value: v,
          declared,
          meets: declared === null || v === null ? null : v >= declared,
        };
      });
    const performanceByGroup: GroupPerformance[] = ev?.document.performance_by_group
      ? Object.entries(ev.document.performance_by_group)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .flatMap(([metric, groups]) =>
            Object.entries(groups)
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([group, g]) => {
                const overall = num(ev.document.performance?.[metric]);
                return {
                  metric,
                  attribute: null,
                  group,
                  n: g.n,
                  value: num(g.value),
                  ci_low: g.ci95 ? g.ci95[0] : null,
                  ci_high: g.ci95 ? g.ci95[1] : null,
                  gap: overall === null || num(g.value) === null ? null : (g.value as number) - overall,
                };
              }),
          )
      : accuracyByGroup(ev?.document);
    const drift = driftRows(ev?.document, psiMax);
    const permutation = ev?.document.explainability?.permutation_importance ?? null;
    // What the evaluator measures is permutation importance (the loss when a feature's column is shuffled),
    // not SHAP values: the table is headed with its metric, and features without a measure are left out.
    const importance = (permutation?.features ?? [])
      .flatMap((f) =>
        f.importance === null ? [] : [{ feature: f.feature, value: f.importance, std: f.std }],
      )
      .sort((a, b) => b.value - a.value || (a.feature < b.feature ? -1 : 1))
      .slice(0, 10);
    const importanceMethod = permutation
      ? {
          metric: permutation.metric,
          label: IMPORTANCE_METRICS[permutation.metric] ?? permutation.metric,
          rows: permutation.rows,
          repeats: permutation.repeats,
        }
      : null;
    const robustness = robustnessRows(ev?.document.robustness);
    const securityFindings = (ev?.document.security?.findings ?? []).map((f) => ({
      id: f.id ?? null,
      severity: f.severity ?? null,
      title: f.title ?? null,
    }));
    const assessments = [...(m.impact_assessments ?? [])]
      .sort(byKey((a: ImpactAssessment) => `${a.date}|${a.name}`))
      .map((a) => ({
        kind: a.kind,
        name: a.name,
        date: a.date,
        link: a.link ?? null,
        summary: a.summary ?? null,
        reviewers: a.reviewers?.join(', ') || null,
      }));
    const aiaAssessment = [...(m.impact_assessments ?? [])]
      .filter((a) => a.kind === 'aia')
      .sort(byKey((a: ImpactAssessment) => a.date))
      .pop();
    const aia = aiaAssessment ? aiaLevel(aiaAssessment) : null;
    const hasKind = (kind: string) => (m.impact_assessments ?? []).some((a) => a.kind === kind);
    const ds = decisionsByModel.get(m.id) ?? [];
    const present = (v: unknown) => (v === null || v === undefined ? 'missing' : 'met');
    // Canada DADM Appendix C, read from what the data shows; `levels` is where the directive asks for it.
    const requirements = [
      {
        requirement: 'Notice before the decision',
        levels: 'I-IV',
        status: present(doc.notice),
        evidence: doc.notice,
      },
      {
        requirement: 'Meaningful explanation',
        levels: 'I-IV',
        status: present(ev?.document.explainability),
        evidence: ev ? `evidence ${ev.id}` : null,
      },
      {
        requirement: 'Peer review, published',
        levels: 'II-IV',
        status: hasKind('peer_review') ? 'met' : 'missing',
        evidence: assessments.find((a) => a.kind === 'peer_review')?.link ?? null,
      },
      {
        requirement: 'GBA Plus',
        levels: 'I-IV',
        status: hasKind('gba_plus') ? 'met' : 'missing',
        evidence: assessments.find((a) => a.kind === 'gba_plus')?.link ?? null,
      },
      {
        requirement: 'Testing for unintended bias',
        levels: 'I-IV',
        status: fairness.length > 0 ? 'met' : 'missing',
        evidence: ev ? `evidence ${ev.id}` : null,
      },
      {
        requirement: 'Ongoing outcome monitoring',
        levels: 'I-IV',
        status: Object.keys(ev?.document.drift?.features ?? {}).length > 0 ? 'met' : 'missing',
        evidence: ev ? `evidence ${ev.id}` : null,
      },
      {
        requirement: 'Data quality and governance',
        levels: 'I-IV',
        status: present(ev?.document.data_quality ?? doc.data_quality),
        evidence: doc.data_quality,
      },
      {
        requirement: 'Human makes the final decision',
        levels: 'III-IV',
        status: present(doc.human_review),
        evidence: doc.human_review,
      },
      {
        requirement: 'Contingency plan',
        levels: 'III-IV',
        status: present(doc.contingency),
        evidence: doc.contingency,
      },
      {
        requirement: 'Training of staff',
        levels: 'II-IV',
        status: present(doc.training),
        evidence: doc.training,
      },
      { requirement: 'Recourse', levels: 'I-IV', status: present(doc.appeals), evidence: doc.appeals },
    ];
    // AI Verify process checks: answered Yes when the evidence or documentation the check asks for exists.
    const yesNo = (v: unknown) =>
      v === null || v === undefined || (Array.isArray(v) && v.length === 0) ? 'No' : 'Yes';
    const principles = [
      {
        principle: 'Transparency',
        evidence: 'notice and description',
        answer: yesNo(doc.notice ?? doc.description),
      },
      { principle: 'Explainability', evidence: 'permutation feature importance', answer: yesNo(importance) },
      {
        principle: 'Repeatability / reproducibility',
        evidence: 'model, dataset and spec hashes',
        answer: yesNo(ev?.document.subject?.dataset_sha256),
      },
      { principle: 'Safety', evidence: 'contingency plan', answer: yesNo(doc.contingency) },
      { principle: 'Security', evidence: 'security scan findings', answer: yesNo(ev?.document.security) },
      { principle: 'Robustness', evidence: 'robustness tests', answer: yesNo(robustness) },
      { principle: 'Fairness', evidence: 'fairness metrics by group', answer: yesNo(fairness) },
      {
        principle: 'Data governance',
        evidence: 'data sources and quality',
        answer: yesNo(doc.data_sources ?? ev?.document.data_quality),
      },
      { principle: 'Accountability', evidence: 'owner and ledger decisions', answer: yesNo(ds) },
      {
        principle: 'Human agency and oversight',
        evidence: 'human review design',
        answer: yesNo(doc.human_review),
      },
      { principle: 'Inclusive growth', evidence: 'benefits statement', answer: yesNo(doc.benefits) },
    ];
    return {
      id: m.id,
      name: m.name,
      version: m.version,
      model_sha256: m.model_sha256 ?? ev?.document.subject?.model_sha256 ?? null,
      owner: m.owner,
      intended_purpose: m.intended_purpose,
      risk_tier: m.risk_tier,
      lifecycle_status: m.lifecycle_status,
      use_case_category: m.use_case_category ?? null,
      vendor: m.vendor ?? null,
      distribution_date: m.distribution_date ?? null,
      doc,
      decisions: {
        total: ds.length,
        allowed: ds.filter((d) => d.allow).length,
        denied: ds.filter((d) => !d.allow).length,
      },
      evidence: ev
        ? {
            id: ev.id,
            collected_at: ev.collected_at,
            data_source: ev.data_source ?? null,
            signed_by: ev.signed_by ?? null,
            // LL144's "date of the most recent audit" is the independent auditor's, not the evidence's.
            bias_audit: ev.document.bias_audit?.completed_at
              ? {
                  completed_at: ev.document.bias_audit.completed_at,
                  auditor: ev.document.bias_audit.auditor ?? null,
                }
              : null,
            ledger_seq: ev.ledger_seq ?? null,
            rows: ev.document.rows ?? null,
            dataset_sha256: ev.document.subject?.dataset_sha256 ?? null,
            runtime: ev.document.runtime
              ? Object.entries(ev.document.runtime)
                  .map(([k, v]) => `${k}: ${v}`)
                  .join(', ')
              : null,
          }
        : null,
      performance,
      performance_by_group: performanceByGroup,
      // The CI method is the report's where T-A2 is built from the fairness evidence, so the report names it.
      performance_by_group_from_fairness: ev !== null && !ev.document.performance_by_group,
      fairness,
      ll144: {
        sex: findAttr((a) => SEX_ATTRIBUTE.test(a)),
        race: raceTables(fairness, false),
        intersectional: raceTables(fairness, true),
        // Named where race × sex is missing, so the reader sees the evidence is not simply empty.
        other_intersections: fairness
          .map((t) => t.attribute)
          .filter((a) => a.includes('&') && !isRaceBySex(a)),
      },
      drift,
      importance,
      importance_method: importanceMethod,
      robustness,
      security_findings: securityFindings,
      assessments,
      aia,
      requirements,
      principles,
      changes: [...(m.changes ?? [])]
        .sort(byKey((c: { date: string; version: string }) => `${c.date}|${c.version}`))
        .map((c) => ({ ...c, approval_seq: c.approval_seq ?? null })),
      test_log: input.evidence
        .filter((e) => e.model_id === m.id)
        .sort(byKey((e: EvidenceRecord) => `${e.collected_at}|${e.id}`))
        .map((e) => ({
          id: e.id,
          dataset_sha256: e.document.subject?.dataset_sha256 ?? null,
          date: e.collected_at,
          result: e.document.performance?.['accuracy'] ?? null,
          signed_by: e.signed_by ?? null,
          ledger_seq: e.ledger_seq ?? null,
        })),
    };
  });

  const flagged = modelViews.flatMap((m) =>
    m.fairness.flatMap((t) =>
      t.rows
        .filter((r) => r.below)
        .map((r) => ({
          model: m.id,
          attribute: t.attribute,
          group: r.group,
          rate: r.rate,
          impact_ratio: r.impact_ratio,
          z: r.z,
          p_value: r.p_value,
          significant: r.significant,
          // The significance level `significant` is judged at, which the p-value is printed against.
          alpha: t.alpha,
          shortfall: r.shortfall,
          reference: t.reference_group,
        })),
    ),
  );

  // Null where the input has no incident source: the report must then not read as "no incidents".
  const incidents =
    input.incidents === undefined
      ? null
      : [...input.incidents].sort(byKey((i) => `${i.detected_at}|${i.id}`)).map((i) => ({
          ...i,
          reported_to: i.reported_to ?? null,
          corrective_action: i.corrective_action ?? null,
        }));

  const seqs = input.decisions.map((d) => d.seq);
  const inputHashes = [
    { name: 'region', sha256: hashCanonical(input.region) },
    { name: 'models', sha256: hashCanonical(input.models) },
    { name: 'decisions', sha256: hashCanonical(input.decisions) },
    { name: 'waivers', sha256: hashCanonical(input.waivers) },
    { name: 'policy changes', sha256: hashCanonical(input.policy_changes ?? []) },
    ...[...input.evidence]
      .sort(byKey((e: EvidenceRecord) => e.id))
      .map((e) => ({ name: `evidence ${e.id}`, sha256: hashCanonical(e) })),
    { name: 'trends', sha256: hashCanonical(input.trends) },
    { name: 'incidents', sha256: hashCanonical(input.incidents ?? []) },
    { name: 'verification', sha256: hashCanonical(input.verification) },
  ];

  const regulations = region.regulations.map((r) => ({
    id: r.id,
    title: r.title,
    articles: r.articles?.join(', ') || null,
  }));
  const origin = region.ledger.origin;
  const serverUrl = input.verification.server_url ?? null;
  const trustedVkey = `--trusted-vkey ${input.verification.vkey ?? `'<ed25519_vkey of GET /v1/ledger/${region.id}/keys>'`}`;

  return {
    meta: {
      title: template.title,
      template_id: template.id,
      regulation: template.regulation,
      region_id: region.id,
      region_name: region.name,
      timezone: region.timezone,
      locale: region.locale,
      period: period.id,
      // `2026` alone does not say what it is; `2026-Q3` does.
      period_label: period.length === 'year' ? `calendar year ${period.id}` : period.id,
      period_start: period.start.toISOString(),
      period_end: period.end.toISOString(),
      generated_at: new Date(input.generated_at).toISOString(),
      trigger: input.trigger ?? 'on_demand',
      ledger_origin: origin,
      first_seq: seqs.length ? Math.min(...seqs) : null,
      last_seq: seqs.length ? Math.max(...seqs) : null,
      threshold,
      threshold_source: fairnessMin === null ? 'four-fifths rule' : `region ${region.id} policy data`,
      small_share: SMALL_CATEGORY_SHARE,
      significance_tests: significanceTests,
      psi_max: psiMax,
      data_sha256: hashCanonical(input),
    },
    regulations,
    toc: template.sections.map((sec, i) => ({ ...sec, number: i + 1 })),
    models: modelViews,
    decisions: {
      total: input.decisions.length,
      allowed,
      denied: input.decisions.length - allowed,
      waived: waivedDecisions,
      by_stage: byStage,
      denials_by_rule: denialsByRule,
    },
    policies: {
      in_force_at_start: activation ? policyView(activation) : null,
      changes: changes.filter((c) => Date.parse(c.at) >= start).map(policyView),
      by_revision: byRevision,
    },
    waivers: [...input.waivers].sort(byKey((w) => `${w.granted_at}|${w.id}`)).map((w) => ({
      ...w,
      approved_by: w.approved_by.join(', '),
      revoked_at: w.revoked_at ?? null,
      seq: w.seq ?? null,
    })),
    flagged,
    incidents,
    charts: {} as Record<string, string>,
    verification: {
      checkpoint: input.verification.checkpoint,
      tree_size: input.verification.tree_size,
      entries: [...input.verification.entries]
        .sort((a, b) => a.seq - b.seq)
        .map((e) => ({ ...e, proof_length: e.proof.length })),
      input_hashes: inputHashes,
      server_url: serverUrl,
      // `arbiter verify` trusts no key a bundle carries: the region log's key is pinned on the command line.
      commands: [
        ...(serverUrl === null
          ? []
          : [`arbiter verify ${trustedVkey} --report report.pdf --server ${serverUrl}`]),
        `arbiter verify ${trustedVkey} --report report.pdf ${region.id}-${period.id}.bundle.json`,
      ],
    },
  };
}

export type ViewModel = ReturnType<typeof buildViewModel>;
export type ModelView = ViewModel['models'][number];
