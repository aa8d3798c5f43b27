// Verifier throughput without PostgreSQL: builds a tree in memory with the ledger's own merkle code (the
// CompactRange that integration uses, hashes stored in the same dense order) and measures `verifyInclusion`
// on real proofs of it, the same way ledger-bench.ts does on the 1M-entry log. For quick comparisons; the
// reported figure is ledger-bench.ts's.
// Run: npx tsx bench/ledger/verifier-bench.ts [--entries 1000000] [--seconds 5] [--proofs 200]
// --proofs: how many random leaves' proofs are verified one by one; a 10,000-entry bundle's are verified too.
import { parseArgs } from 'node:util';
import {
  CompactRange,
  HASH_SIZE,
  hashLeaf,
  proveInclusion,
  storedHashCount,
  storedHashIndex,
} from '../../ledger/merkle/index.ts';
import { measureVerifier } from './verifier.ts';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '1000000' },
    seconds: { type: 'string', default: '5' },
    proofs: { type: 'string', default: '200' },
  },
});
const TOTAL = Number(values.entries);
const BUNDLE_ENTRIES = 10_000;
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const t = performance.now();
// One buffer for all stored hashes: a Uint8Array per hash would cost several times its 32 bytes.
const stored = new Uint8Array(storedHashCount(TOTAL) * HASH_SIZE);
const range = CompactRange.empty();
for (let i = 0; i < TOTAL; i++) {
  const leaf = hashLeaf(Buffer.from(`{"n":${i},"outcome":"allow","type":"decision"}`));
  for (const { index, hash } of range.append(leaf)) stored.set(hash, index * HASH_SIZE);
}
const reader = {
  readHashes: async (indexes: readonly number[]) =>
    indexes.map((i) => stored.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE)),
};
console.log(`built a ${TOTAL}-entry tree in memory in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const proofOf = async (seq: number) => {
  const [leaf] = await reader.readHashes([storedHashIndex(0, seq)]);
  return {
    seq,
    size: TOTAL,
    leaf_hash: toHex(leaf!),
    proof: (await proveInclusion(TOTAL, seq, reader)).map(toHex),
  };
};
const independent = await Promise.all(
  Array.from({ length: Number(values.proofs) }, () => proofOf(Math.floor(Math.random() * TOTAL))),
);
// As many consecutive entries as one audit bundle holds at most (reader.ts MAX_RANGE).
const from = Math.floor(Math.random() * (TOTAL - BUNDLE_ENTRIES));
const bundle = await Promise.all(Array.from({ length: BUNDLE_ENTRIES }, (_, i) => proofOf(from + i)));
const root = toHex(range.root());
const { rate, bundleRate, hashesPerProof, nodeHashMicros } = measureVerifier(
  independent,
  root,
  { proofs: bundle, roots: new Map([[TOTAL, root]]) },
  Number(values.seconds),
);
console.log(
  `verifier (one core; ${nodeHashMicros.toFixed(2)} µs per node hash): ${rate} independent inclusion proofs/s (${hashesPerProof.toFixed(1)} hashes each); ${bundleRate} proofs/s of ${BUNDLE_ENTRIES} consecutive entries as a bundle is verified`,
);
