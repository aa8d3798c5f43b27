import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  buildBundle,
  buildInputDocument,
  type InputDocument,
  type PolicyBundle,
} from '../../../policies/index.ts';
import { loadRegions, policyDataDocument } from '../../../regions/index.ts';

export const POLICIES_DIR = path.resolve(import.meta.dirname, '../../../policies');

/** The clock the samples were written against (their evidence dates are relative to it). */
export const SAMPLE_CLOCK = new Date('2026-11-23T12:00:00Z');

/** Builds the repository's policies with the shipped regions' thresholds into a temp folder. */
export async function buildRepositoryBundle(
  revision = 'test',
): Promise<{ bundle: PolicyBundle; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-policy-test-'));
  const bundle = await buildBundle({
    sourceDir: POLICIES_DIR,
    revision,
    out: path.join(dir, 'bundle.tar.gz'),
    data: policyDataDocument(await loadRegions()),
  });
  return { bundle, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface Sample {
  /** e.g. `deployment/samples/denied/us-nyc-no-bias-audit.json` */
  readonly name: string;
  readonly expected: 'allowed' | 'denied';
  readonly body: SampleBody;
}

export interface SampleBody {
  region: string;
  stage: 'training' | 'deployment' | 'monitoring';
  subject: { model: string; version: string; model_sha256?: string };
  evidence: Record<string, unknown>;
  model_card?: Record<string, unknown>;
  context?: Record<string, unknown>;
}

/** Every `policies/**\/samples/{allowed,denied}/*.json`. */
export async function loadSamples(): Promise<Sample[]> {
  const files = (await readdir(POLICIES_DIR, { recursive: true }))
    .map((f) => f.split(path.sep).join('/'))
    .filter((f) => /(^|\/)samples\/(allowed|denied)\/[^/]+\.json$/.test(f))
    .sort();
  return Promise.all(
    files.map(async (name) => ({
      name,
      expected: name.includes('/samples/allowed/') ? ('allowed' as const) : ('denied' as const),
      body: JSON.parse(await readFile(path.join(POLICIES_DIR, name), 'utf8')) as SampleBody,
    })),
  );
}

/** The input document of a deployment sample (`allowed/…` or `denied/…`), at the samples' clock. */
export async function deploymentInput(
  name: string,
  waivers: InputDocument['waivers'] = [],
): Promise<InputDocument> {
  const sample = (await loadSamples()).find((s) => s.name === `deployment/samples/${name}.json`)!;
  return buildInputDocument({
    stage: 'deployment',
    region: sample.body.region,
    now: SAMPLE_CLOCK,
    subject: sample.body.subject,
    evidence: sample.body.evidence,
    model_card: sample.body.model_card,
    waivers,
  });
}
