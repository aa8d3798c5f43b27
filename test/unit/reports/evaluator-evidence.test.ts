import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../../evaluators/index.ts';
import type { EvidenceDocument } from '../../../reports/index.ts';
import { findTemplate } from '../../../reports/templates.ts';
import { buildViewModel } from '../../../reports/view-model.ts';
import { makeReportInput } from './fixture.ts';

// 200 applicants; 50 with no sex and 50 with no race recorded. The 3 Native American applicants, all selected,
// are 1.5% of everyone assessed (left out under §5-301(d)) but exactly 2% of those whose race is known: a report
// that counted shares against known people only would make them the reference category.
const BLOCKS: readonly [sex: string, race: string, rows: number, selected: number][] = [
  ['Male', 'White', 47, 23],
  ['Female', 'White', 30, 12],
  ['Male', 'Black', 30, 9],
  ['', 'White', 20, 10],
  ['Female', 'Black', 20, 6],
  ['Female', 'NativeAmerican', 3, 3],
  ['', '', 30, 10],
  ['Male', '', 20, 5],
];
const SPEC = `
label: { column: label, positive: 1 }
prediction: { column: pred, positive: [1] }
sensitive: [sex, race]
intersections: [[race, sex]]
`;

let dir: string;
let evidence: EvidenceDocument;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-report-ll144-'));
  const lines = ['sex,race,label,pred'];
  for (const [sex, race, rows, selected] of BLOCKS)
    for (let i = 0; i < rows; i++) lines.push(`${sex},${race},${i % 2},${i < selected ? 1 : 0}`);
  const data = path.join(dir, 'applicants.csv');
  await writeFile(data, `${lines.join('\n')}\n`);
  evidence = JSON.parse((await evaluate({ data, spec: SPEC })).json) as EvidenceDocument;
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('LL144 report from the evaluator’s evidence', () => {
  it('prints the figures of the evidence’s ll144 block: counts, shares, rates, ratios, exclusions, unknowns', () => {
    const input = makeReportInput({ template: 'us-nyc/ll144-bias-audit', models: 1, decisions: 0 });
    const doc = { ...input, evidence: [{ ...input.evidence[0]!, document: evidence }] };
    const vm = buildViewModel(doc, findTemplate('us-nyc/ll144-bias-audit')!);
    const { ll144 } = vm.models[0]!;
    const tables = { sex: ll144.sex, race: ll144.race[0], 'race&sex': ll144.intersectional[0] };
    for (const [attribute, table] of Object.entries(tables)) {
      const block = evidence.fairness![attribute]!.ll144!;
      expect(table?.attribute).toBe(attribute);
      expect(table?.unknown_count).toBe(block.unknown_count);
      expect(table?.excluded_groups).toEqual([...block.excluded_under_2pct].sort());
      expect(table?.rows.map((r) => [r.group, r.count, r.share, r.rate, r.impact_ratio, r.excluded])).toEqual(
        Object.entries(block.selection)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([group, c]) => [
            group,
            c.count,
            c.count / block.total,
            c.selection_rate,
            c.impact_ratio,
            c.excluded_under_2pct,
          ]),
      );
    }
    expect([
      tables.sex?.unknown_count,
      tables.race?.unknown_count,
      tables['race&sex']?.unknown_count,
    ]).toEqual([50, 50, 70]);
    expect(tables.race?.excluded_groups).toEqual(['NativeAmerican']);
    expect(tables.race?.reference_group).toBe('White');
    expect(tables.race?.rows.find((r) => r.group === 'White')?.impact_ratio).toBe(1);
  });

  it('US adverse impact: the evidence’s ratios, reference, z-test and exclusions, as the gate judged them', () => {
    const us = findTemplate('us/adverse-impact-quarterly')!;
    const input = makeReportInput({ template: us.id, models: 1, decisions: 0 });
    const vm = buildViewModel({ ...input, evidence: [{ ...input.evidence[0]!, document: evidence }] }, us);
    const race = vm.models[0]!.fairness.find((t) => t.attribute === 'race')!;
    const block = evidence.fairness!['race']!;
    // The 3 Native American applicants, all selected, are under min_group_size: the evidence gives them a ratio
    // of 2.16 against White, which neither the gate nor the report takes as the reference.
    expect(block.groups['NativeAmerican']?.impact_ratio).toBeGreaterThan(2);
    expect(race.reference_group).toBe('White');
    expect(race.reference_group).toBe(block.four_fifths?.reference_group);
    expect(race.excluded_groups).toEqual(['NativeAmerican']);
    expect(race.rows.find((r) => r.group === 'NativeAmerican')).toMatchObject({
      impact_ratio: null,
      excluded_reason: 'count 3 is below min_group_size 30: left out of the impact ratios',
    });
    for (const row of race.rows.filter((r) => !r.excluded)) {
      const test = block.four_fifths!.groups![row.group]!;
      expect([row.impact_ratio, row.z, row.p_value, row.significant]).toEqual([
        block.groups[row.group]!.impact_ratio,
        test.z,
        test.p_value,
        test.significant,
      ]);
    }
    // White: 45 of 97 selected; Black: 15 of 50, and 0.8 · 45/97 · 50 = 18.6, so 19 were needed.
    expect(race.rows.map((r) => [r.group, r.selected, r.shortfall])).toEqual([
      ['Black', 15, 4],
      ['NativeAmerican', 3, null],
      ['White', 45, 0],
    ]);
    expect(vm.flagged.map((f) => [f.attribute, f.group])).toContainEqual(['race', 'Black']);
  });
});

describe('Annex IV report from the evaluator’s evidence', () => {
  it('T-A2: each group’s accuracy over its labelled rows, with a 95% interval and its gap to the overall', () => {
    const annex = findTemplate('eu/ai-act-annex-iv')!;
    const input = makeReportInput({ template: annex.id, models: 1, decisions: 0 });
    const vm = buildViewModel({ ...input, evidence: [{ ...input.evidence[0]!, document: evidence }] }, annex);
    const rows = vm.models[0]!.performance_by_group;
    const overall = evidence.performance!['accuracy']!;
    const expected = Object.entries(evidence.fairness!)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .flatMap(([attribute, fa]) =>
        Object.entries(fa.groups)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([group, g]) => [attribute, group, g['labelled'], g.accuracy, g.accuracy! - overall]),
      );
    expect(expected.length).toBeGreaterThan(0);
    expect(rows.map((r) => [r.attribute, r.group, r.n, r.value, r.gap])).toEqual(expected);
    for (const r of rows) {
      expect(r.ci_low).toBeLessThanOrEqual(r.value!);
      expect(r.ci_high).toBeGreaterThanOrEqual(r.value!);
    }
  });
});

describe('a category the data names "Unknown" (§5-301: counted, not rated)', () => {
  // The usual HR export: applicants who did not disclose their sex are "Unknown", and the most selected.
  const UNKNOWN_BLOCKS: readonly [sex: string, rows: number, selected: number][] = [
    ['Male', 300, 150],
    ['Female', 300, 120],
    ['Unknown', 100, 60],
  ];
  // Evidence as evaluators before UNKNOWN_CATEGORY wrote it: the same applicants, "Unknown" rated as a group. A
  // value no version counts as unknown stands in for it in the data and is renamed in the evidence.
  const STAND_IN = 'Unrecorded';
  let unknownDir: string;
  let unknownEvidence: EvidenceDocument;
  let olderEvidence: EvidenceDocument;

  beforeAll(async () => {
    unknownDir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-report-unknown-'));
    const evaluateWith = async (unknown: string) => {
      const lines = ['sex,race,label,pred'];
      for (const [sex, rows, selected] of UNKNOWN_BLOCKS)
        for (let i = 0; i < rows; i++)
          lines.push(`${sex === 'Unknown' ? unknown : sex},White,${i % 2},${i < selected ? 1 : 0}`);
      const data = path.join(unknownDir, `applicants-${unknown}.csv`);
      await writeFile(data, `${lines.join('\n')}\n`);
      return (await evaluate({ data, spec: SPEC })).json;
    };
    unknownEvidence = JSON.parse(await evaluateWith('Unknown')) as EvidenceDocument;
    olderEvidence = JSON.parse(
      (await evaluateWith(STAND_IN)).replaceAll(STAND_IN, 'Unknown'),
    ) as EvidenceDocument;
  });
  afterAll(async () => {
    if (unknownDir) await rm(unknownDir, { recursive: true, force: true });
  });

  const tablesOf = (template: string, document: EvidenceDocument) => {
    const t = findTemplate(template)!;
    const input = makeReportInput({ template: t.id, models: 1, decisions: 0 });
    const vm = buildViewModel({ ...input, evidence: [{ ...input.evidence[0]!, document }] }, t);
    return vm.models[0]!;
  };

  it('the evaluator counts it as unknown: the report prints the evidence’s figures, as the gate judged them', () => {
    const block = unknownEvidence.fairness!['sex']!;
    expect([block.missing, block.four_fifths?.reference_group, Object.keys(block.groups)]).toEqual([
      100,
      'Male',
      ['Female', 'Male'],
    ]);
    const { ll144 } = tablesOf('us-nyc/ll144-bias-audit', unknownEvidence);
    expect(ll144.sex).toMatchObject({
      reference_group: 'Male',
      unknown_count: 100,
      total: 600,
      ratios_from_evidence: true,
    });
    expect(ll144.sex?.rows.map((r) => [r.group, r.count, r.share, r.rate, r.impact_ratio])).toEqual([
      ['Female', 300, 300 / 700, 0.4, 0.8],
      ['Male', 300, 300 / 700, 0.5, 1],
    ]);
    expect(ll144.intersectional).toMatchObject([
      { reference_group: 'White&Male', unknown_count: 100, ratios_from_evidence: true },
    ]);
    const sex = tablesOf('us/adverse-impact-quarterly', unknownEvidence).fairness.find(
      (t) => t.attribute === 'sex',
    )!;
    expect(sex).toMatchObject({
      reference_group: 'Male',
      unknown_count: 100,
      total: 600,
      ratios_from_evidence: true,
    });
    // Against Male, the reference the evidence's z-test took, the test is printed.
    const test = block.four_fifths!.groups!['Female']!;
    expect(sex.rows.map((r) => [r.group, r.impact_ratio, r.below, r.z, r.significant])).toEqual([
      ['Female', 0.8, false, test.z, test.significant],
      ['Male', 1, false, null, false],
    ]);
  });

  it('older evidence, LL144: counts it as unknown and takes the impact ratios against the most selected known category', () => {
    // The evaluator rated "Unknown" as a category, the most selected (60%): its ratios are against it.
    expect(olderEvidence.fairness!['sex']!.ll144!.selection['Unknown']?.impact_ratio).toBe(1);
    const { ll144 } = tablesOf('us-nyc/ll144-bias-audit', olderEvidence);
    expect(ll144.sex).toMatchObject({
      reference_group: 'Male',
      unknown_count: 100,
      total: 600,
      ratios_from_evidence: false,
      below_groups: [],
    });
    expect(ll144.sex?.rows.map((r) => [r.group, r.count, r.share, r.rate, r.impact_ratio])).toEqual([
      ['Female', 300, 300 / 700, 0.4, 0.8],
      ['Male', 300, 300 / 700, 0.5, 1],
    ]);
    // In race × sex, "White&Unknown" is as unknown as "Unknown".
    expect(ll144.intersectional).toMatchObject([{ reference_group: 'White&Male', unknown_count: 100 }]);
    expect(ll144.intersectional[0]?.rows.map((r) => [r.group, r.impact_ratio])).toEqual([
      ['White&Female', 0.8],
      ['White&Male', 1],
    ]);
  });

  it('older evidence, US adverse impact: counts it as unknown, and does not print ratios or z-tests against it', () => {
    const block = olderEvidence.fairness!['sex']!;
    expect([block.missing, block.four_fifths?.reference_group]).toEqual([0, 'Unknown']);
    const model = tablesOf('us/adverse-impact-quarterly', olderEvidence);
    const sex = model.fairness.find((t) => t.attribute === 'sex')!;
    expect(sex).toMatchObject({
      reference_group: 'Male',
      unknown_count: 100,
      total: 600,
      ratios_from_evidence: false,
    });
    expect(sex.rows.map((r) => [r.group, r.impact_ratio, r.below, r.z, r.significant])).toEqual([
      ['Female', 0.8, false, null, null],
      ['Male', 1, false, null, null],
    ]);
  });
});
