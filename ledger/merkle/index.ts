export {
  EMPTY_ROOT,
  HASH_SIZE,
  RFC6962_LEAF_HASH_PREFIX,
  RFC6962_NODE_HASH_PREFIX,
  equalHashes,
  hashChildren,
  hashLeaf,
} from './hasher.ts';
export { consistencyProofOf, inclusionPathOf, rootOfRange } from './range.ts';
export {
  proveConsistency,
  proveInclusion,
  storedHashCount,
  storedHashIndex,
  subtreeIndexes,
  treeHash,
} from './stored-hashes.ts';
export type { HashReader } from './stored-hashes.ts';
export { CompactRange } from './compact-range.ts';
export type { StoredHash } from './compact-range.ts';
export { rootFromInclusionProof, verifyConsistency, verifyInclusion } from './verify.ts';
export type { ConsistencyOptions } from './verify.ts';
export { InclusionVerifier } from './inclusion-verifier.ts';
