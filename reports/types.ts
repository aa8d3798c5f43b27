/**
 * What a report is rendered from. Everything printed in a report comes from a `ReportInput`: the renderer adds
 * headings and computed figures (rates, ratios, totals), never content of its own.
 */

/** The part of a region's config (`regions/<id>/region.yaml`) that reports read. */
export interface ReportRegion {
  readonly id: string;
  readonly name: string;
  /** IANA zone, e.g. `Europe/Brussels`: periods and schedules are counted in it. */
  readonly timezone: string;
  /** BCP 47 tag used for number and date formatting, e.g. `en-GB`. */
  readonly locale: string;
  readonly ledger: { readonly origin: string };
  readonly regulations: readonly {
    readonly id: string;
    readonly title: string;
    readonly articles?: readonly string[];
  }[];
  readonly policy_data?: {
    readonly fairness?: {
      readonly impact_ratio_min?: number;
      /** Groups smaller than this are left out of the impact-ratio comparison (FAIR-IMPACT-RATIO). */
      readonly min_group_size?: number;
      readonly [key: string]: unknown;
    };
    readonly [key: string]: unknown;
  };
  readonly reports?: readonly { readonly template: string; readonly schedule: string }[];
}

/** Free-text documentation of a model, as its owner registered it (all optional; gaps are shown as gaps). */
export interface ModelDocumentation {
  readonly organisation?: string;
  readonly team?: string;
  readonly contact?: string;
  readonly senior_responsible_owner?: string;
  readonly supplier?: string;
  readonly supplier_company_no?: string;
  readonly procurement_type?: string;
  readonly data_access_terms?: string;
  readonly description?: string;
  readonly scope?: string;
  readonly benefits?: string;
  readonly alternatives_considered?: string;
  readonly model_type?: string;
  readonly phase?: string;
  readonly process_integration?: string;
  readonly outputs?: string;
  readonly human_review?: string;
  readonly training?: string;
  readonly appeals?: string;
  readonly notice?: string;
  readonly contingency?: string;
  readonly data_sources?: string;
  readonly data_collection?: string;
  readonly data_sharing?: string;
  readonly data_storage?: string;
  readonly data_quality?: string;
  readonly representativeness?: string;
  readonly sensitive_attributes?: string;
  readonly design_choices?: string;
  readonly architecture?: string;
  readonly cybersecurity?: string;
  readonly risk_management?: string;
  readonly standards_applied?: string;
  readonly declaration_of_conformity?: string;
  readonly pmm_plan?: string;
}

export interface ImpactAssessment {
  /** e.g. `dpia`, `fria`, `aia`, `peer_review`, `gba_plus`. */
  readonly kind: string;
  readonly name: string;
  readonly date: string;
  readonly link?: string;
  readonly summary?: string;
  readonly reviewers?: readonly string[];
  /** Canada AIA scores (raw impact score and its maximum; mitigation score and its maximum). */
  readonly raw_score?: number;
  readonly max_score?: number;
  readonly mitigation_score?: number;
  readonly mitigation_max?: number;
}

export interface ModelRecord {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly model_sha256?: string;
  readonly owner: string;
  readonly intended_purpose: string;
  readonly risk_tier: string;
  readonly lifecycle_status: string;
  readonly use_case_category?: string;
  readonly vendor?: string;
  /** Date the model (an AEDT, for NYC) was first distributed or used. */
  readonly distribution_date?: string;
  readonly documentation?: ModelDocumentation;
  readonly impact_assessments?: readonly ImpactAssessment[];
  /** Versions and the approval that let each in (EU Annex IV point 6). */
  readonly changes?: readonly {
    readonly version: string;
    readonly date: string;
    readonly change: string;
    readonly substantial_modification: boolean;
    readonly approval_seq?: number;
  }[];
}

/** One ledger decision in the period (the ledger's `decision` entries, flattened). */
export interface DecisionRecord {
  readonly seq: number;
  readonly decision_id: string;
  readonly model_id: string;
  readonly stage: string;
  readonly allow: boolean;
  /** Rules that denied, waived or not. */
  readonly denied_rules: readonly string[];
  /** The subset of `denied_rules` a waiver lifted. */
  readonly waived_rules: readonly string[];
  readonly decided_at: string;
  /** The Git commit of the policies that decided. */
  readonly policy_revision?: string;
}

/** A change of the policies that decide, as the region's log records it (policy.activated, policy.rejected). */
export interface PolicyChangeRecord {
  readonly seq: number;
  /**
   * `restored`: the service activated again the last bundle it had, because its branch's head was refused or
   * could not be read when it started; `rejected`: a commit that failed its tests or build, never activated.
   */
  readonly kind: 'activated' | 'restored' | 'rejected';
  readonly commit: string;
  /** `Name <email>` of who committed it. */
  readonly committer: string;
  readonly at: string;
  /** The bundle activated; absent for a refusal. */
  readonly bundle_sha256?: string;
  /** Why the commit was refused: the head of the recorded reason. */
  readonly reason?: string;
}

export interface WaiverRecord {
  readonly id: string;
  readonly model_id: string;
  readonly rule: string;
  readonly reason: string;
  readonly approved_by: readonly string[];
  readonly granted_at: string;
  readonly expires_at: string;
  /** When a compliance officer ended it before its expiry (the waiver.revoked entry), if one did. */
  readonly revoked_at?: string;
  /** The sequence number of its waiver.requested entry in the region's log. */
  readonly seq?: number;
}

export interface FairnessGroup {
  readonly count: number;
  readonly selection_rate?: number | null;
  readonly scoring_rate?: number | null;
  readonly impact_ratio?: number | null;
  readonly tpr?: number | null;
  readonly fpr?: number | null;
  readonly fnr?: number | null;
  readonly tnr?: number | null;
  readonly ppv?: number | null;
  readonly npv?: number | null;
  readonly accuracy?: number | null;
  readonly [metric: string]: number | null | undefined;
}

export interface ExcludedGroup {
  readonly group: string;
  readonly reason?: string;
  /** The comparisons it is left out of (`impact_ratio`, `equalized_odds`, …); all of them where absent. */
  readonly from?: readonly string[];
}

export interface FairnessAttribute {
  readonly groups: Readonly<Record<string, FairnessGroup>>;
  readonly demographic_parity_difference?: number | null;
  readonly demographic_parity_ratio?: number | null;
  readonly equalized_odds_difference?: number | null;
  readonly equalized_odds_ratio?: number | null;
  /** Individuals whose category is unknown (NYC §5-301 asks for their number). */
  readonly unknown_count?: number;
  /** Groups left out of comparisons; the evaluator names the comparisons (`from`) and gives its reason. */
  readonly excluded_groups?: readonly (string | ExcludedGroup)[];
  /** Individuals left out of the groups for a missing attribute value (Arbiter's evaluator writes this). */
  readonly missing?: number;
  /**
   * The four-fifths comparison as the evaluator made it (UGESP §1607.4(D)): its reference group, and for each
   * compared group the two-proportion z-test of its selection rate against the reference group's.
   */
  readonly four_fifths?: {
    readonly reference_group?: string | null;
    readonly alpha?: number;
    readonly groups?: Readonly<
      Record<
        string,
        { readonly z?: number | null; readonly p_value?: number | null; readonly significant?: boolean }
      >
    >;
  };
  /** The LL144 figures as Arbiter's evaluator computed them (evaluators/metrics/fairness.ts). */
  readonly ll144?: Ll144Figures;
}

/** One category's LL144 figures in the evaluator's `ll144` block. */
export interface Ll144Category {
  readonly count: number;
  readonly selection_rate?: number | null;
  readonly scoring_rate?: number | null;
  readonly impact_ratio: number | null;
  readonly excluded_under_2pct: boolean;
}

/** NYC 6 RCNY §5-301 figures of one attribute: counts and shares are of everyone assessed, unknowns included. */
export interface Ll144Figures {
  readonly total: number;
  readonly unknown_count: number;
  /** A scoring tool's median score of the full sample, which its scoring rates count above (§5-301(c)(1)). */
  readonly median_score?: number | null;
  readonly selection: Readonly<Record<string, Ll144Category>>;
  readonly scoring: Readonly<Record<string, Ll144Category>> | null;
  /** The scoring table's own total and unknown category (scored individuals); absent in older evidence. */
  readonly scoring_total?: number | null;
  readonly scoring_unknown_count?: number | null;
  /** The categories left out of the selection impact ratios (a scoring category says so itself). */
  readonly excluded_under_2pct: readonly string[];
}

/** The evidence document of DESIGN.md (`arbiter.evidence/v1`): only the parts reports read are typed. */
export interface EvidenceDocument {
  readonly schema: string;
  readonly subject?: {
    readonly model_sha256?: string;
    readonly dataset_sha256?: string;
    readonly spec_sha256?: string;
  };
  readonly runtime?: Readonly<Record<string, string>>;
  readonly rows?: number;
  readonly performance?: Readonly<Record<string, number | null>>;
  readonly performance_by_group?: Readonly<
    Record<
      string,
      Readonly<
        Record<
          string,
          { readonly n: number; readonly value: number | null; readonly ci95?: readonly [number, number] }
        >
      >
    >
  >;
  readonly fairness?: Readonly<Record<string, FairnessAttribute>>;
  readonly drift?: {
    readonly features?: Readonly<
      Record<
        string,
        {
          readonly test?: string;
          readonly statistic?: number | null;
          readonly p_value?: number | null;
          readonly psi?: number | null;
        }
      >
    >;
    readonly prediction?: Readonly<Record<string, unknown>>;
  };
  /** The evaluator's robustness probes (evaluators/schema/evidence.schema.json). */
  readonly robustness?: {
    /** How many sampled rows were probed: a count. */
    readonly sample_rows?: number;
    readonly counterfactual?: readonly {
      readonly attribute: string;
      readonly rows: number;
      readonly flip_rate: number | null;
      readonly mean_abs_score_change: number | null;
      readonly unscorable?: number;
    }[];
    readonly perturbation?: {
      /** The noise's standard deviation, as a multiple of each numeric feature's. */
      readonly relative_noise: number;
      readonly seed?: number;
      readonly rows: number;
      readonly features: readonly string[];
      readonly flip_rate: number | null;
      readonly mean_abs_score_change: number | null;
      readonly max_abs_score_change: number | null;
      readonly unscorable?: number;
    };
  };
  /** The evaluator's explainability probes: permutation importance (not SHAP) and reset-to-baseline reasons. */
  readonly explainability?: {
    readonly sample_rows?: number;
    readonly permutation_importance?: {
      /** accuracy_drop with a label, mean_abs_score_change without. */
      readonly metric: 'accuracy_drop' | 'mean_abs_score_change';
      readonly repeats: number;
      readonly seed?: number;
      readonly rows: number;
      readonly features: readonly {
        readonly feature: string;
        readonly importance: number | null;
        readonly std: number | null;
      }[];
      readonly unscorable?: number;
    };
    readonly reasons?: Readonly<Record<string, unknown>>;
  };
  readonly data_quality?: Readonly<Record<string, unknown>>;
  /** Where the evaluation data came from (NYC §5-303 asks for the source and an explanation of it). */
  readonly data_source?: string;
  /** The independent bias audit the evidence carries (NYC §5-301; policies read `completed_at` too). */
  readonly bias_audit?: { readonly completed_at?: string; readonly auditor?: string };
  readonly security?: {
    readonly findings?: readonly {
      readonly id?: string;
      readonly severity?: string;
      readonly title?: string;
    }[];
  };
}

/** One evidence snapshot cited by the report. */
export interface EvidenceRecord {
  readonly id: string;
  readonly model_id: string;
  readonly collected_at: string;
  /** Where the evaluation data came from (NYC: historical or test data). */
  readonly data_source?: string;
  /** Who signed the test result off (EU Annex IV 2(g)). */
  readonly signed_by?: string;
  readonly ledger_seq?: number;
  readonly document: EvidenceDocument;
}

/** One quarter's summary, for the trend charts. */
export interface TrendPoint {
  readonly period: string;
  readonly model_id: string;
  readonly decisions: number;
  readonly denials: number;
  readonly min_impact_ratio?: number | null;
  readonly accuracy?: number | null;
}

export interface Incident {
  readonly id: string;
  readonly model_id: string;
  readonly detected_at: string;
  readonly class: string;
  readonly description: string;
  readonly reported_to?: string;
  readonly corrective_action?: string;
  readonly status: string;
}

/** A cited ledger entry and its RFC 6962 inclusion proof against the checkpoint below. */
export interface CitedEntry {
  readonly seq: number;
  readonly type: string;
  readonly leaf_hash: string;
  readonly proof: readonly string[];
}

export interface VerificationData {
  /** The signed checkpoint (C2SP signed-note text) all proofs are relative to. */
  readonly checkpoint: string;
  readonly tree_size: number;
  readonly entries: readonly CitedEntry[];
  /** Where an auditor can fetch the ledger, e.g. `https://arbiter.example`. */
  readonly server_url?: string;
  /** The region log's ed25519 verifier key (C2SP vkey), which `arbiter verify --trusted-vkey` pins. */
  readonly vkey?: string;
}

export interface ReportInput {
  readonly region: ReportRegion;
  readonly template: string;
  /** `YYYY-Qn`, counted in the region's timezone. */
  readonly period: string;
  /** The injected clock's reading (ISO 8601), printed as the generation time. */
  readonly generated_at: string;
  readonly trigger?: 'scheduled' | 'on_demand' | 'event';
  readonly models: readonly ModelRecord[];
  readonly decisions: readonly DecisionRecord[];
  readonly waivers: readonly WaiverRecord[];
  /**
   * The last activation before the period, which was in force as it began, and every activation and refusal
   * within it, in ledger order.
   */
  readonly policy_changes?: readonly PolicyChangeRecord[];
  readonly evidence: readonly EvidenceRecord[];
  readonly trends: readonly TrendPoint[];
  /**
   * The period's incidents, from an incident source. Absent where there is none: the report then says it holds
   * no incident records, never that no incident occurred; an empty list says the source recorded none.
   */
  readonly incidents?: readonly Incident[];
  readonly verification: VerificationData;
}
