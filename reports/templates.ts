import { ReportError } from './errors.ts';
import type { PeriodLength } from './period.ts';

/**
 * The report templates: ids, what each is for, the length of the period one report covers, and its sections in
 * order (the table of contents).
 */

export interface TemplateSection {
  readonly id: string;
  readonly title: string;
}

export interface TemplateInfo {
  readonly id: string;
  readonly title: string;
  /** The regulation or framework the report answers to. */
  readonly regulation: string;
  readonly description: string;
  /** A quarter, or a year where the regulation asks for an annual report (an LL144 bias audit, §20-871). */
  readonly period: PeriodLength;
  readonly sections: readonly TemplateSection[];
}

const s = (id: string, title: string): TemplateSection => ({ id, title });
const INVENTORY = s('inventory', 'Models covered');
const DECISIONS = s('decisions', 'Decisions in the period');
const WAIVERS = s('waivers', 'Waivers');
const TRENDS = s('trends', 'Trends over quarters');
const VERIFICATION = s('verification', 'Appendix: verifying this report');

const TEMPLATES: readonly TemplateInfo[] = [
  {
    id: 'eu/ai-act-pmm-quarterly',
    period: 'quarter',
    title: 'Post-market monitoring report',
    regulation: 'EU AI Act (Reg. 2024/1689) Art. 72',
    description:
      'Quarterly post-market monitoring: performance against declared levels, drift, fairness, complaints and deployer feedback, incidents, corrective actions, risk-register updates.',
    sections: [
      INVENTORY,
      DECISIONS,
      s('performance', 'Performance against declared levels'),
      s('drift', 'Drift'),
      s('fairness', 'Fairness by group'),
      s('complaints', 'Complaints and deployer feedback'),
      s('incidents', 'Serious incidents and corrective actions'),
      s('risk-register', 'Updates to the risk register'),
      WAIVERS,
      TRENDS,
      VERIFICATION,
    ],
  },
  {
    id: 'eu/ai-act-annex-iv',
    period: 'quarter',
    title: 'Technical documentation summary',
    regulation: 'EU AI Act (Reg. 2024/1689) Art. 11 and Annex IV',
    description: 'The nine points of Annex IV with tables T-A1 to T-A4, per model.',
    sections: [
      s('general', 'General description (IV.1)'),
      s('development', 'Elements and development process (IV.2)'),
      s('monitoring', 'Monitoring, functioning and control (IV.3)'),
      s('metrics', 'Appropriateness of the performance metrics (IV.4)'),
      s('risk', 'Risk-management system (IV.5, Art. 9)'),
      s('changes', 'Lifecycle change log (IV.6)'),
      s('standards', 'Harmonised standards applied (IV.7)'),
      s('conformity', 'EU declaration of conformity (IV.8)'),
      s('pmm', 'Post-market monitoring plan (IV.9)'),
      DECISIONS,
      VERIFICATION,
    ],
  },
  {
    id: 'us-nyc/ll144-bias-audit',
    period: 'year',
    title: 'Bias audit of an automated employment decision tool',
    regulation: 'NYC Local Law 144 of 2021, 6 RCNY §5-301',
    description:
      'Selection or scoring rates and impact ratios by sex, race/ethnicity and their intersection.',
    sections: [
      s('summary', 'Audit summary'),
      s('sex', 'Sex categories'),
      s('race', 'Race/ethnicity categories'),
      s('intersectional', 'Intersectional categories'),
      s('method', 'Method'),
      DECISIONS,
      VERIFICATION,
    ],
  },
  {
    id: 'us/adverse-impact-quarterly',
    period: 'quarter',
    title: 'Adverse impact report',
    regulation: 'EEOC Uniform Guidelines (29 CFR 1607.4(D)), four-fifths rule',
    description:
      'Quarterly selection rates and impact ratios per model and attribute against the four-fifths rule.',
    sections: [
      INVENTORY,
      DECISIONS,
      s('flagged', 'Groups below the threshold'),
      s('adverse-impact', 'Selection rates and impact ratios'),
      WAIVERS,
      TRENDS,
      VERIFICATION,
    ],
  },
  {
    id: 'uk/atrs-record',
    period: 'quarter',
    title: 'Algorithmic transparency record',
    regulation: 'UK Algorithmic Transparency Recording Standard (ATRS)',
    description: 'ATRS tier 1 and the five tier 2 sections, per model.',
    sections: [
      s('tier1', 'Tier 1: summary'),
      s('owner', 'Owner and responsibility'),
      s('description', 'Description and rationale'),
      s('decision-making', 'Decision-making process'),
      s('data', 'Data'),
      s('risks', 'Risks, mitigations and impact assessments'),
      s('performance', 'Accuracy and fairness by group'),
      DECISIONS,
      VERIFICATION,
    ],
  },
  {
    id: 'ca/aia-summary',
    period: 'quarter',
    title: 'Algorithmic Impact Assessment summary',
    regulation: 'Canada Directive on Automated Decision-Making',
    description: 'AIA impact level, requirements by level, bias tests and outcome monitoring.',
    sections: [
      INVENTORY,
      s('aia', 'Impact level (AIA score breakdown)'),
      s('requirements', 'Requirements by impact level'),
      s('bias', 'Bias test results by group'),
      s('monitoring', 'Outcome monitoring'),
      DECISIONS,
      VERIFICATION,
    ],
  },
  {
    id: 'sg/ai-verify-summary',
    period: 'quarter',
    title: 'AI Verify summary report',
    regulation: 'Singapore Model AI Governance Framework and AI Verify',
    description: 'Process checks by principle and technical tests: fairness, robustness, explainability.',
    sections: [
      INVENTORY,
      s('principles', 'Process checks by principle'),
      s('fairness', 'Fairness metrics'),
      s('robustness', 'Robustness'),
      s('explainability', 'Explainability'),
      DECISIONS,
      VERIFICATION,
    ],
  },
  {
    id: 'governance-quarterly',
    period: 'quarter',
    title: 'Quarterly AI governance report',
    regulation: 'NIST AI Risk Management Framework 1.0',
    description: 'Region-neutral quarterly summary by the four AI RMF functions.',
    sections: [
      INVENTORY,
      s('govern', 'GOVERN: policies, inventory and oversight'),
      s('map', 'MAP: context and impacts'),
      s('measure', 'MEASURE: performance, fairness and drift'),
      s('manage', 'MANAGE: treatment of risks'),
      TRENDS,
      VERIFICATION,
    ],
  },
];

/** Every template, in a stable order. */
export function listTemplates(): readonly TemplateInfo[] {
  return TEMPLATES;
}

export function findTemplate(id: string): TemplateInfo | undefined {
  return TEMPLATES.find((t) => t.id === id);
}

/** The length of the period a report of `template` covers. */
export function periodLengthOf(template: string): PeriodLength {
  const info = findTemplate(template);
  if (!info)
    throw new ReportError('REPORT_TEMPLATE_UNKNOWN', `no report template ${JSON.stringify(template)}`, {
      field: 'template',
    });
  return info.period;
}
