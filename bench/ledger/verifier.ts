// The verifier measurement, shared by ledger-bench.ts (proofs served from the PostgreSQL log) and
// verifier-bench.ts (proofs of an in-memory tree), so both report the same thing.
import { randomBytes } from 'node:crypto';
import type { InclusionProof } from '../../ledger/index.ts';
import { hashChildren, verifyInclusion } from '../../ledger/merkle/index.ts';

export interface VerifierResult {
  /** Verified inclusion proofs per second, on this thread. */
  readonly rate: number;
  /** Mean number of hashes per proof. */
  readonly hashesPerProof: number;
  /** Microseconds per interior-node hash (SHA-256 of 65 bytes) alone. */
  readonly nodeHashMicros: number;
}

/**
 * Calls `verifyInclusion` on `proofs` (decoded from hex once, as a verifier holding a bundle would) round
 * after round until `seconds` have been spent verifying. Between rounds it times bare node hashes, so that
 * both figures come from the same moments of a shared machine and the report can say how much of a proof is
 * hashing.
 */
export function measureVerifier(
  proofs: readonly InclusionProof[],
  root: string,
  seconds: number,
): VerifierResult {
  const prepared = proofs.map((p) => ({
    seq: p.seq,
    size: p.size,
    leaf: Buffer.from(p.leaf_hash, 'hex'),
    path: p.proof.map((h) => Buffer.from(h, 'hex')),
  }));
  const rootBytes = Buffer.from(root, 'hex');
  const sibling = randomBytes(32);
  let node: Uint8Array = randomBytes(32);
  let verified = 0;
  let verifyMs = 0;
  let hashed = 0;
  let hashMs = 0;
  while (verifyMs < seconds * 1000) {
    let t = performance.now();
    for (const p of prepared) verifyInclusion(p.seq, p.size, p.leaf, p.path, rootBytes);
    verifyMs += performance.now() - t;
    verified += prepared.length;
    t = performance.now();
    for (let i = 0; i < 1000; i++) node = hashChildren(sibling, node);
    hashMs += performance.now() - t;
    hashed += 1000;
  }
  return {
    rate: Math.round(verified / (verifyMs / 1000)),
    hashesPerProof: prepared.reduce((sum, p) => sum + p.path.length, 0) / prepared.length,
    nodeHashMicros: (hashMs * 1000) / hashed,
  };
}
