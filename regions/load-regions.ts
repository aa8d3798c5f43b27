import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { RegionError } from './errors.ts';
import { regionSchema, type Region, type RegionPolicyDocument } from './region-schema.ts';

/** The folder that ships with Arbiter: one sub-folder per region, each holding `region.yaml`. */
export const DEFAULT_REGIONS_DIR = path.dirname(fileURLToPath(import.meta.url));

const REGION_FILE = 'region.yaml';

/**
 * Loads and validates every `<dir>/<id>/region.yaml`. Adding a region means adding a folder. Throws
 * RegionError REGION_CONFIG_INVALID naming the file and the field when one is wrong, or when a folder's
 * name differs from the id inside it. Returns the regions keyed by id, frozen.
 */
export async function loadRegions(dir: string = DEFAULT_REGIONS_DIR): Promise<ReadonlyMap<string, Region>> {
  const entries = await readdir(dir, { withFileTypes: true });
  const regions = new Map<string, Region>();
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const file = path.join(dir, entry.name, REGION_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const region = parseRegion(text, file);
    if (region.id !== entry.name) {
      throw new RegionError(
        'REGION_CONFIG_INVALID',
        `${file}: id "${region.id}" differs from its folder "${entry.name}"`,
      );
    }
    regions.set(region.id, deepFreeze(region));
  }
  if (regions.size === 0)
    throw new RegionError('REGION_CONFIG_INVALID', `${dir}: no <region>/${REGION_FILE} found`);
  return regions;
}

/** Parses one region file's text; `file` only names it in errors. */
export function parseRegion(text: string, file: string): Region {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new RegionError('REGION_CONFIG_INVALID', `${file}: not valid YAML: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const parsed = regionSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new RegionError('REGION_CONFIG_INVALID', `${file}: ${problems}`, { cause: parsed.error });
  }
  return parsed.data;
}

/** The region with this id, or RegionError REGION_UNKNOWN listing the known ones. */
export function requireRegion(regions: ReadonlyMap<string, Region>, id: string): Region {
  const region = regions.get(id);
  if (!region) {
    throw new RegionError(
      'REGION_UNKNOWN',
      `unknown region "${id}"; known: ${[...regions.keys()].join(', ')}`,
    );
  }
  return region;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * The data document the Rego policies read: `{regions: {<id>: <policy_data> + regulations}}` (as
 * `data.regions[<id>]`), `regulations` being the ids of the region's regulations: a finding cites only those
 * (policies/lib/result). Build it into the policy bundle so the bundle's hash covers every threshold a
 * decision used, and which regulations it cited.
 */
export function policyDataDocument(regions: ReadonlyMap<string, Region>): {
  regions: Record<string, RegionPolicyDocument>;
} {
  return {
    regions: Object.fromEntries(
      [...regions].map(([id, region]) => [
        id,
        { ...region.policy_data, regulations: region.regulations.map((r) => r.id) },
      ]),
    ),
  };
}
