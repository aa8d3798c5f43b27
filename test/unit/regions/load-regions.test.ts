import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_REGIONS_DIR,
  loadRegions,
  parseRegion,
  policyDataDocument,
  RegionError,
  requireRegion,
} from '../../../regions/index.ts';

const EU_YAML = path.join(DEFAULT_REGIONS_DIR, 'eu', 'region.yaml');

describe('loadRegions', () => {
  it('loads the shipped regions with their report templates', async () => {
    const regions = await loadRegions();
    expect([...regions.keys()]).toEqual(['ca', 'eu', 'sg', 'uk', 'us', 'us-nyc']);
    const templates = (id: string) => requireRegion(regions, id).reports.map((r) => r.template);
    expect(templates('eu')).toEqual([
      'eu/ai-act-pmm-quarterly',
      'eu/ai-act-annex-iv',
      'governance-quarterly',
    ]);
    expect(templates('us-nyc')).toEqual(['us-nyc/ll144-bias-audit', 'governance-quarterly']);
    expect(templates('us')).toEqual(['us/adverse-impact-quarterly', 'governance-quarterly']);
    expect(templates('uk')).toEqual(['uk/atrs-record', 'governance-quarterly']);
    expect(templates('ca')).toEqual(['ca/aia-summary', 'governance-quarterly']);
    expect(templates('sg')).toEqual(['sg/ai-verify-summary', 'governance-quarterly']);
    expect(requireRegion(regions, 'us-nyc').policy_data.evidence.bias_audit_max_age_months).toBe(12);
    expect(requireRegion(regions, 'us').policy_data.fairness.impact_ratio_min).toBe(0.8);
    expect(requireRegion(regions, 'eu').ledger.origin).toBe('arbiter.example/eu');
    expect(Object.isFrozen(requireRegion(regions, 'eu').policy_data.fairness)).toBe(true);
    // LL144 §5-301(b): sex, race/ethnicity and their intersection; no other region names attributes.
    const required = requireRegion(regions, 'us-nyc').policy_data.fairness.required_attributes;
    expect(required.map((a) => a.name)).toEqual(['sex', 'race/ethnicity', 'race/ethnicity × sex']);
    const matches = (key: string) =>
      required.filter((a) => new RegExp(a.pattern, 'i').test(key)).map((a) => a.name);
    expect(matches('Gender')).toEqual(['sex']);
    expect(matches('race_ethnicity')).toEqual(['race/ethnicity']);
    expect(matches('race&sex')).toEqual(['race/ethnicity × sex']);
    expect(matches('Sex&Race')).toEqual(['race/ethnicity × sex']);
    expect(matches('race&age')).toEqual([]);
    for (const id of ['ca', 'eu', 'sg', 'uk', 'us'])
      expect(requireRegion(regions, id).policy_data.fairness.required_attributes).toEqual([]);
  });

  it('keeps thresholds no regulation of the region sets advisory', async () => {
    const regions = await loadRegions();
    const advisory = (id: string) => requireRegion(regions, id).policy_data.fairness.advisory_thresholds;
    // LL144 sets no pass/fail threshold (REGULATIONS.md §3); in us the four-fifths screen (UGESP) blocks.
    expect(advisory('us-nyc')).toEqual([
      'impact_ratio',
      'demographic_parity_difference',
      'equalized_odds_difference',
    ]);
    expect(advisory('us')).toEqual(['demographic_parity_difference', 'equalized_odds_difference']);
    for (const id of ['ca', 'eu', 'sg', 'uk']) expect(advisory(id)).toEqual([]);
  });

  describe('when a folder is added', () => {
    let dir: string;
    afterEach(() => rm(dir, { recursive: true, force: true }));

    it('picks up the new region', async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'regions-'));
      const eu = await readFile(EU_YAML, 'utf8');
      await mkdir(path.join(dir, 'br'));
      await writeFile(path.join(dir, 'br', 'region.yaml'), eu.replace('id: eu', 'id: br'));
      expect([...(await loadRegions(dir)).keys()]).toEqual(['br']);
    });

    it('refuses a folder whose name differs from the id inside', async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'regions-'));
      await mkdir(path.join(dir, 'fr'));
      await writeFile(path.join(dir, 'fr', 'region.yaml'), await readFile(EU_YAML, 'utf8'));
      await expect(loadRegions(dir)).rejects.toThrow(/fr[/\\]region.yaml: id "eu" differs/);
    });
  });
});

describe('parseRegion', () => {
  const invalid = async (from: string, to: string) => {
    const text = (await readFile(EU_YAML, 'utf8')).replace(from, to);
    try {
      parseRegion(text, 'x/region.yaml');
    } catch (err) {
      expect(err).toBeInstanceOf(RegionError);
      expect((err as RegionError).code).toBe('REGION_CONFIG_INVALID');
      return (err as Error).message;
    }
    throw new Error('expected parseRegion to throw');
  };

  it('names the file and field of an unknown time zone', async () => {
    expect(await invalid('Europe/Brussels', 'Europe/Atlantis')).toBe(
      'x/region.yaml: timezone: not an IANA time zone',
    );
  });

  it('names a threshold out of range', async () => {
    expect(await invalid('impact_ratio_min: 0.8', 'impact_ratio_min: 1.8')).toMatch(
      /^x\/region.yaml: policy_data\.fairness\.impact_ratio_min: /,
    );
  });

  it('refuses an invalid cron schedule', async () => {
    expect(await invalid("'0 6 1 1,4,7,10 *'", "'every quarter'")).toBe(
      'x/region.yaml: reports.0.schedule: not a cron expression',
    );
  });

  it('refuses unknown keys, so typos do not silently drop a threshold', async () => {
    expect(await invalid('psi_max: 0.2', 'psi_maxx: 0.2')).toMatch(/policy_data\.drift/);
  });

  it('defaults required fairness attributes to none, and refuses a pattern RE2 would not take', async () => {
    const eu = (await readFile(EU_YAML, 'utf8')).replace(/ *required_attributes: \[\]\n/, '');
    expect(parseRegion(eu, 'x/region.yaml').policy_data.fairness.required_attributes).toEqual([]);
    expect(
      await invalid('required_attributes: []', "required_attributes: [{ name: sex, pattern: '^(?!age)' }]"),
    ).toMatch(/^x\/region.yaml: policy_data\.fairness\.required_attributes\.0\.pattern: /);
    expect(
      await invalid('required_attributes: []', "required_attributes: [{ name: sex, pattern: '(' }]"),
    ).toMatch(/required_attributes\.0\.pattern/);
  });

  it('refuses an advisory threshold it does not know, or one listed twice', async () => {
    expect(
      await invalid(
        'required_attributes: []',
        'required_attributes: []\n    advisory_thresholds: [accuracy]',
      ),
    ).toMatch(/^x\/region.yaml: policy_data\.fairness\.advisory_thresholds\.0: /);
    expect(
      await invalid(
        'required_attributes: []',
        'required_attributes: []\n    advisory_thresholds: [impact_ratio, impact_ratio]',
      ),
    ).toBe('x/region.yaml: policy_data.fairness.advisory_thresholds: a threshold is listed twice');
  });

  it('refuses a regulation id listed twice or not of the id form', async () => {
    expect(await invalid('  - id: gdpr\n', '  - id: eu-ai-act\n')).toBe(
      'x/region.yaml: regulations: a regulation id is listed twice',
    );
    expect(await invalid('  - id: gdpr\n', '  - id: GDPR 2016\n')).toMatch(
      /^x\/region.yaml: regulations\.1\.id: lower-case letters/,
    );
  });

  it('refuses YAML that does not parse', async () => {
    expect(await invalid('id: eu', 'id: [eu')).toMatch(/^x\/region.yaml: not valid YAML/);
  });
});

describe('policyDataDocument', () => {
  it("gives the policies each region's policy_data and the ids of its regulations", async () => {
    const regions = await loadRegions();
    const document = policyDataDocument(regions);
    expect(Object.keys(document.regions)).toEqual(['ca', 'eu', 'sg', 'uk', 'us', 'us-nyc']);
    expect(document.regions['eu']).toEqual({
      ...requireRegion(regions, 'eu').policy_data,
      regulations: ['eu-ai-act', 'gdpr'],
    });
    expect(document.regions['us']!.regulations).toEqual(['eeoc-ugesp', 'ecoa-reg-b', 'sr-26-2']);
    expect(document.regions['us-nyc']!.regulations).toEqual(['nyc-ll144']);
  });
});
