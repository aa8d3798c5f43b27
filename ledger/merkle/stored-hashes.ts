import { EMPTY_ROOT, hashChildren } from './hasher.ts';
import { half, isOdd, splitPoint } from './tree-math.ts';

// Hash storage in one dense linear order, as Go's checksum database stores it (golang.org/x/mod/sumdb/tlog):
// appending leaf n writes its leaf hash and then the hash of every complete subtree that leaf closes, so the
// stored hashes of leaves [a, b) are exactly the indexes [storedHashCount(a), storedHashCount(b)). Any tree hash
// or proof then needs O(log n) stored hashes.

/** Reads stored hashes by index. Implementations MUST return them in the order asked. */
export interface HashReader {
  readHashes(indexes: readonly number[]): Promise<Uint8Array[]>;
}

/** Storage index of the n'th hash at `level` (level 0 = leaf hashes; level l covers 2^l leaves). */
export function storedHashIndex(level: number, n: number): number {
  // Level l's n'th hash is written right after level l-1's (2n+1)'th hash.
  for (let l = level; l > 0; l--) n = 2 * n + 1;
  // Level 0's n'th hash is written at n + n/2 + n/4 + ... (leaf n is preceded by n leaves and their subtrees).
  let i = 0;
  for (; n > 0; n = half(n)) i += n;
  return i + level;
}

/** Number of stored hashes for a tree of n leaves. */
export function storedHashCount(n: number): number {
  if (n === 0) return 0;
  let count = storedHashIndex(0, n - 1) + 1;
  for (let i = n - 1; isOdd(i); i = half(i)) count++;
  return count;
}

/** Indexes of the maximal complete subtrees that make up [lo, hi), left to right. */
export function subtreeIndexes(lo: number, hi: number, need: number[] = []): number[] {
  while (lo < hi) {
    const { k, level } = splitPoint(hi - lo + 1);
    need.push(storedHashIndex(level, lo / k));
    lo += k;
  }
  return need;
}

function subtreeHash(lo: number, hi: number, hashes: Uint8Array[]): Uint8Array {
  let count = 0;
  while (lo < hi) {
    lo += splitPoint(hi - lo + 1).k;
    count++;
  }
  const parts = hashes.splice(0, count);
  let h = parts[count - 1]!;
  for (let i = count - 2; i >= 0; i--) h = hashChildren(parts[i]!, h);
  return h;
}

/** MTH of the first `size` leaves, from at most log2(size)+1 stored hashes. */
export async function treeHash(size: number, reader: HashReader): Promise<Uint8Array> {
  if (size === 0) return EMPTY_ROOT;
  const hashes = await reader.readHashes(subtreeIndexes(0, size));
  return subtreeHash(0, size, hashes);
}

function inclusionIndexes(lo: number, hi: number, n: number, need: number[]): number[] {
  if (lo + 1 === hi) return need;
  const { k } = splitPoint(hi - lo);
  if (n < lo + k) {
    inclusionIndexes(lo, lo + k, n, need);
    subtreeIndexes(lo + k, hi, need);
  } else {
    subtreeIndexes(lo, lo + k, need);
    inclusionIndexes(lo + k, hi, n, need);
  }
  return need;
}

function inclusionPath(lo: number, hi: number, n: number, hashes: Uint8Array[]): Uint8Array[] {
  if (lo + 1 === hi) return [];
  const { k } = splitPoint(hi - lo);
  // Indexes were requested depth-first in left-to-right order; consume them in the same order.
  if (n < lo + k) {
    const path = inclusionPath(lo, lo + k, n, hashes);
    return [...path, subtreeHash(lo + k, hi, hashes)];
  }
  const sibling = subtreeHash(lo, lo + k, hashes);
  return [...inclusionPath(lo + k, hi, n, hashes), sibling];
}

/** RFC 9162 PATH(index, D[0:size]) built from stored hashes (O(log size) reads, one round trip). */
export async function proveInclusion(size: number, index: number, reader: HashReader): Promise<Uint8Array[]> {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of size ${size}`);
  const indexes = inclusionIndexes(0, size, index, []);
  if (indexes.length === 0) return [];
  return inclusionPath(0, size, index, await reader.readHashes(indexes));
}

function consistencyIndexes(lo: number, hi: number, n: number, need: number[]): number[] {
  if (n === hi) return lo === 0 ? need : subtreeIndexes(lo, hi, need);
  const { k } = splitPoint(hi - lo);
  if (n <= lo + k) {
    consistencyIndexes(lo, lo + k, n, need);
    subtreeIndexes(lo + k, hi, need);
  } else {
    subtreeIndexes(lo, lo + k, need);
    consistencyIndexes(lo + k, hi, n, need);
  }
  return need;
}

function consistencyPath(lo: number, hi: number, n: number, hashes: Uint8Array[]): Uint8Array[] {
  if (n === hi) return lo === 0 ? [] : [subtreeHash(lo, hi, hashes)];
  const { k } = splitPoint(hi - lo);
  if (n <= lo + k) {
    const path = consistencyPath(lo, lo + k, n, hashes);
    return [...path, subtreeHash(lo + k, hi, hashes)];
  }
  const sibling = subtreeHash(lo, lo + k, hashes);
  return [...consistencyPath(lo + k, hi, n, hashes), sibling];
}

/** RFC 9162 PROOF(size1, D[0:size2]); empty when size1 is 0 or equals size2. */
export async function proveConsistency(
  size1: number,
  size2: number,
  reader: HashReader,
): Promise<Uint8Array[]> {
  if (!(size1 >= 0 && size1 <= size2)) throw new RangeError(`no consistency proof from ${size1} to ${size2}`);
  if (size1 === 0 || size1 === size2) return [];
  const indexes = consistencyIndexes(0, size2, size1, []);
  if (indexes.length === 0) return [];
  return consistencyPath(0, size2, size1, await reader.readHashes(indexes));
}
