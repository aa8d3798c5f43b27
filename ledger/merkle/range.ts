import { EMPTY_ROOT, hashChildren } from './hasher.ts';
import { splitPoint } from './tree-math.ts';

// In-memory RFC 9162 §2.1 definitions over a list of leaf hashes: MTH, PATH and PROOF exactly as the RFC writes
// them. Used for small trees (tests, fsck cross-checks, the subtree vectors); the store uses stored-hashes.ts.

/** MTH(D[start:end]) for leaf hashes D. */
export function rootOfRange(leaves: readonly Uint8Array[], start = 0, end = leaves.length): Uint8Array {
  const n = end - start;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leaves[start]!;
  const { k } = splitPoint(n);
  return hashChildren(rootOfRange(leaves, start, start + k), rootOfRange(leaves, start + k, end));
}

/** PATH(m, D[start:end]): the inclusion proof of leaf start+m in the subtree D[start:end]. */
export function inclusionPathOf(
  leaves: readonly Uint8Array[],
  m: number,
  start = 0,
  end = leaves.length,
): Uint8Array[] {
  const n = end - start;
  if (n <= 1) return [];
  const { k } = splitPoint(n);
  return m < k
    ? [...inclusionPathOf(leaves, m, start, start + k), rootOfRange(leaves, start + k, end)]
    : [...inclusionPathOf(leaves, m - k, start + k, end), rootOfRange(leaves, start, start + k)];
}

/** PROOF(m, D[0:n]): the consistency proof from size m to size n = leaves.length. */
export function consistencyProofOf(leaves: readonly Uint8Array[], m: number): Uint8Array[] {
  if (m <= 0 || m >= leaves.length) return [];
  return subproof(leaves, m, 0, leaves.length, true);
}

function subproof(
  leaves: readonly Uint8Array[],
  m: number,
  start: number,
  end: number,
  b: boolean,
): Uint8Array[] {
  const n = end - start;
  if (m === n) return b ? [] : [rootOfRange(leaves, start, end)];
  const { k } = splitPoint(n);
  return m <= k
    ? [...subproof(leaves, m, start, start + k, b), rootOfRange(leaves, start + k, end)]
    : [...subproof(leaves, m - k, start + k, end, false), rootOfRange(leaves, start, start + k)];
}
