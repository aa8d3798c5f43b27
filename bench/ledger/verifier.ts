// The verifier measurement, shared by ledger-bench.ts (proofs served from the PostgreSQL log) and
// verifier-bench.ts (proofs of an in-memory tree), so both report the same thing.
import { randomBytes } from 'node:crypto';
import type { InclusionProof } from '../../ledger/index.ts';
import { InclusionVerifier, hashChildren, verifyInclusion } from '../../ledger/merkle/index.ts';

export interface VerifierResult {
  /** Independent proofs (random leaves, each verified on its own with `verifyInclusion`) per second. */
  readonly rate: number;
  /** Mean number of hashes per independent proof. */
  readonly hashesPerProof: number;
  /**
   * Proofs of consecutive entries, verified as `arbiter verify` checks a bundle's (one `InclusionVerifier`
   * per signed tree, new for every round), per second.
   */
  readonly bundleRate: number;
  /** Microseconds per interior-node hash (SHA-256 of 65 bytes) alone. */
  readonly nodeHashMicros: number;
}

interface Prepared {
  readonly seq: number;
  readonly size: number;
  readonly leaf: Uint8Array;
  readonly path: Uint8Array[];
}

// Decoded from hex once, as a verifier holding a bundle would.
const prepare = (proofs: readonly InclusionProof[]): Prepared[] =>
  proofs.map((p) => ({
    seq: p.seq,
    size: p.size,
    leaf: Buffer.from(p.leaf_hash, 'hex'),
    path: p.proof.map((h) => Buffer.from(h, 'hex')),
  }));

/** Inclusion proofs of consecutive entries, each against one of the signed trees `roots` names by size. */
export interface BundleProofs {
  readonly proofs: readonly InclusionProof[];
  readonly roots: ReadonlyMap<number, string>;
}

/**
 * Verifies `independent` (proofs of random leaves, all against `root`) with `verifyInclusion`, and `bundle`
 * with a fresh `InclusionVerifier` per signed tree and round, round after round until `seconds` have been
 * spent on each. Between rounds it times bare node hashes, so that the figures come from the same
 * moments of a shared machine and the report can say how much of a proof is hashing.
 */
export function measureVerifier(
  independent: readonly InclusionProof[],
  root: string,
  bundle: BundleProofs,
  seconds: number,
): VerifierResult {
  const single = prepare(independent);
  const consecutive = prepare(bundle.proofs);
  const bundleRoots = new Map([...bundle.roots].map(([size, hex]) => [size, Buffer.from(hex, 'hex')]));
  const rootBytes = Buffer.from(root, 'hex');
  const sibling = randomBytes(32);
  let node: Uint8Array = randomBytes(32);
  let verified = 0;
  let verifyMs = 0;
  let bundled = 0;
  let bundleMs = 0;
  let hashed = 0;
  let hashMs = 0;
  while (verifyMs < seconds * 1000 || bundleMs < seconds * 1000) {
    let t = performance.now();
    for (const p of single) verifyInclusion(p.seq, p.size, p.leaf, p.path, rootBytes);
    verifyMs += performance.now() - t;
    verified += single.length;
    t = performance.now();
    const verifiers = new Map<number, InclusionVerifier>();
    for (const p of consecutive) {
      let verifier = verifiers.get(p.size);
      if (!verifier)
        verifiers.set(p.size, (verifier = new InclusionVerifier(p.size, bundleRoots.get(p.size)!)));
      verifier.verify(p.seq, p.leaf, p.path);
    }
    bundleMs += performance.now() - t;
    bundled += consecutive.length;
    t = performance.now();
    for (let i = 0; i < 1000; i++) node = hashChildren(sibling, node);
    hashMs += performance.now() - t;
    hashed += 1000;
  }
  return {
    rate: Math.round(verified / (verifyMs / 1000)),
    hashesPerProof: single.reduce((sum, p) => sum + p.path.length, 0) / single.length,
    bundleRate: Math.round(bundled / (bundleMs / 1000)),
    nodeHashMicros: (hashMs * 1000) / hashed,
  };
}
