export {
  loadRegions,
  parseRegion,
  requireRegion,
  policyDataDocument,
  DEFAULT_REGIONS_DIR,
} from './load-regions.ts';
export { regionSchema, policyDataSchema } from './region-schema.ts';
export { RegionError } from './errors.ts';
export type { RegionErrorCode } from './errors.ts';
export type { Region, RegionPolicyData, RegionPolicyDocument } from './region-schema.ts';
