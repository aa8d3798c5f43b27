import { LedgerError } from '../errors.ts';
import { EMPTY_ROOT, HASH_SIZE, equalHashes, hashChildren } from './hasher.ts';
import { half, isOdd, isPowerOfTwo } from './tree-math.ts';

// Proof verification exactly as RFC 9162 §2.1.3.2 and §2.1.4.2 describe it. Every argument may come from an
// attacker (an audit bundle, an HTTP response): sizes are checked to be safe integers before any arithmetic,
// and every hash must be exactly 32 bytes.

export function invalidProof(message: string): LedgerError {
  return new LedgerError('LEDGER_PROOF_INVALID', message);
}

function checkSize(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw invalidProof(`${what} must be a non-negative integer`);
}

function isHash(value: unknown): boolean {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}

function checkHash(hash: Uint8Array, what: string): void {
  if (!isHash(hash)) throw invalidProof(`${what} is not a ${HASH_SIZE}-byte hash`);
}

// Names the bad element only once one is found, rather than building a `proof[i]` string for every element of
// every proof.
function checkProof(proof: readonly Uint8Array[]): void {
  const bad = proof.findIndex((p) => !isHash(p));
  if (bad !== -1) throw invalidProof(`proof[${bad}] is not a ${HASH_SIZE}-byte hash`);
}

/** Throws LedgerError unless the arguments of an inclusion proof have the right types and ranges. */
export function checkInclusionArguments(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): void {
  checkSize(index, 'leaf index');
  checkSize(size, 'tree size');
  if (index >= size) throw invalidProof(`leaf index ${index} is not below tree size ${size}`);
  checkHash(leafHash, 'leaf hash');
  checkProof(proof);
}

/** The root that an inclusion proof for `leafHash` at `index` in a tree of `size` leaves leads to. */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array {
  checkInclusionArguments(index, size, leafHash, proof);
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const p of proof) {
    // A proof longer than the path from leaf to root: reject rather than hash garbage in.
    if (sn === 0) throw invalidProof('inclusion proof is too long');
    if (isOdd(fn) || fn === sn) {
      r = hashChildren(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw invalidProof('inclusion proof is too short');
  return r;
}

/**
 * Throws LedgerError unless `proof` proves leaf `index` in the tree of `size` leaves with `root`. The proof does
 * not bind the size (a proof can verify for a range of sizes): take size and root from one signed checkpoint.
 */
export function verifyInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  const calculated = rootFromInclusionProof(index, size, leafHash, proof);
  if (!equalHashes(calculated, root)) throw inclusionMismatch(index);
}

export function inclusionMismatch(index: number): LedgerError {
  return new LedgerError(
    'LEDGER_ROOT_MISMATCH',
    `inclusion proof for leaf ${index} leads to a different root`,
  );
}

export interface ConsistencyOptions {
  /**
   * Accept size1 = 0 with an empty proof (C2SP tlog-witness does; root1 must then be the empty-tree root).
   * transparency-dev/merkle rejects it, and so does this function by default.
   */
  readonly allowEmptyOld?: boolean;
}

/** Throws LedgerError unless `proof` shows that the tree (size2, root2) extends the tree (size1, root1). */
export function verifyConsistency(
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
  options: ConsistencyOptions = {},
): void {
  checkSize(size1, 'size1');
  checkSize(size2, 'size2');
  if (size1 > size2) throw invalidProof(`size1 ${size1} is larger than size2 ${size2}`);
  checkProof(proof);
  if (size1 === 0) {
    if (!options.allowEmptyOld) throw invalidProof('consistency from an empty tree is not accepted');
    if (proof.length !== 0) throw invalidProof('consistency proof from size 0 must be empty');
    // Every tree extends the empty one, but a tree of size 0 is the empty one: both roots are then checked.
    if (!equalHashes(root1, EMPTY_ROOT) || (size2 === 0 && !equalHashes(root2, EMPTY_ROOT)))
      throw new LedgerError('LEDGER_ROOT_MISMATCH', 'size 0 needs the empty root');
    return;
  }
  if (size1 === size2) {
    if (proof.length !== 0) throw invalidProof('consistency proof between equal sizes must be empty');
    if (!equalHashes(root1, root2))
      throw new LedgerError('LEDGER_ROOT_MISMATCH', 'equal sizes with different roots');
    return;
  }
  if (proof.length === 0) throw invalidProof('consistency proof is empty');
  // The old root is omitted from the proof when size1 is a power of two: it is then a node of the new tree.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) throw invalidProof('consistency proof is too long');
    if (isOdd(fn) || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw invalidProof('consistency proof is too short');
  if (!equalHashes(fr, root1))
    throw new LedgerError('LEDGER_ROOT_MISMATCH', 'consistency proof does not lead to root1');
  if (!equalHashes(sr, root2))
    throw new LedgerError('LEDGER_ROOT_MISMATCH', 'consistency proof does not lead to root2');
}
