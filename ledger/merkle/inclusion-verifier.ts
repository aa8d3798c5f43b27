import { HASH_SIZE, equalHashes, hashChildren } from './hasher.ts';
import { half, isOdd } from './tree-math.ts';
import { checkInclusionArguments, inclusionMismatch, invalidProof, verifyInclusion } from './verify.ts';

// Positions are keyed as index * 64 + level, exact while that stays a safe integer; larger trees are verified
// proof by proof.
const MAX_KEYED_SIZE = 2 ** 46;
// A remembered node costs ~300 bytes (map entry and its own small Uint8Array), so this bounds the memory at
// ~80 MB, about 13 times what a 10,000-entry bundle (the largest the server exports) needs. Past it, proofs are
// still checked; only nothing more is remembered.
const MAX_REMEMBERED = 1 << 18;
const NO_HASH = new Uint8Array(0);

/**
 * Verifies many inclusion proofs against one signed tree (size, root), as an audit bundle holds them.
 *
 * The proofs of neighbouring entries share most of their nodes, and verifying each on its own hashes those
 * nodes again every time. Once a proof has led to the root, every node it touched (those it computed and the
 * siblings it was given) is proven to be the tree's node at its position, and is remembered. A later proof
 * still walks its whole path, but where its current node and its sibling both equal proven nodes, the parent is
 * the proven parent and is not hashed again; a node that differs from the proven one at its position is
 * rejected there. Every element of every proof is thus checked, by hashing or by equality with a proven node,
 * and each proof gets the outcome `verifyInclusion` would give it (short of a SHA-256 collision).
 *
 * The verifier keeps the hashes it is given: they must not be modified afterwards.
 */
export class InclusionVerifier {
  private readonly proven = new Map<number, Uint8Array>();
  // Keys and hashes the proof being checked touched, remembered only once it has verified.
  private readonly touched: (number | Uint8Array)[] = [];

  constructor(
    readonly size: number,
    readonly root: Uint8Array,
  ) {
    if (!(root instanceof Uint8Array) || root.length !== HASH_SIZE)
      throw invalidProof(`root is not a ${HASH_SIZE}-byte hash`);
  }

  /** Throws LedgerError unless `proof` proves leaf `index` in this tree. */
  verify(index: number, leafHash: Uint8Array, proof: readonly Uint8Array[]): void {
    if (this.size > MAX_KEYED_SIZE) return verifyInclusion(index, this.size, leafHash, proof, this.root);
    checkInclusionArguments(index, this.size, leafHash, proof);
    // Before the walk: a proof of the wrong length may meet a proven node that differs from it on the way,
    // and would then be reported as leading to another root where verifyInclusion calls it too long or short.
    const length = inclusionProofLength(index, this.size);
    if (proof.length > length) throw invalidProof('inclusion proof is too long');
    if (proof.length < length) throw invalidProof('inclusion proof is too short');
    const { proven, touched } = this;
    touched.length = 0;
    // The walk of RFC 9162 §2.1.3.2, with the level of the current node r kept alongside fn.
    let fn = index;
    let sn = this.size - 1;
    let level = 0;
    let r = leafHash;
    let key = fn * 64;
    let known = proven.get(key);
    if (known !== undefined && !equalHashes(known, r)) throw inclusionMismatch(index);
    let rProven = known !== undefined;
    touched.push(key, r);
    for (const p of proof) {
      // RFC 9162 hashes first and then lifts a right-border node to where it has a left sibling; lifting
      // first gives the same hash and the sibling's position.
      const pIsLeft = isOdd(fn) || fn === sn;
      if (pIsLeft) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
          level++;
        }
      }
      const siblingKey = (pIsLeft ? fn - 1 : fn + 1) * 64 + level;
      fn = half(fn);
      sn = half(sn);
      level++;
      key = fn * 64 + level;
      known = proven.get(key);
      if (known !== undefined && rProven && equalHashes(proven.get(siblingKey) ?? NO_HASH, p)) {
        r = known;
      } else {
        r = pIsLeft ? hashChildren(p, r) : hashChildren(r, p);
        if (known !== undefined && !equalHashes(known, r)) throw inclusionMismatch(index);
        rProven = known !== undefined;
      }
      touched.push(siblingKey, p, key, r);
    }
    if (!equalHashes(r, this.root)) throw inclusionMismatch(index);
    for (let i = 0; i < touched.length && proven.size < MAX_REMEMBERED; i += 2) {
      if (!proven.has(touched[i] as number)) proven.set(touched[i] as number, touched[i + 1] as Uint8Array);
    }
  }
}

/**
 * The length of leaf `index`'s inclusion proof in a tree of `size` leaves (RFC 9162 §2.1.3.2): one hash for
 * each level below the one where the paths to `index` and to the last leaf meet (the bit length of
 * index XOR (size - 1)); above it, on the right border, one only where the path has a left sibling (a 1 bit
 * of `index`), since a left child there has no right sibling and is lifted.
 */
function inclusionProofLength(index: number, size: number): number {
  // Halving, not shifts: bitwise operators would truncate these numbers to 32 bits.
  let fn = index;
  let sn = size - 1;
  let inner = 0;
  for (; fn !== sn; inner++) {
    fn = half(fn);
    sn = half(sn);
  }
  let border = 0;
  for (; fn > 0; fn = half(fn)) if (isOdd(fn)) border++;
  return inner + border;
}
