import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CompactRange,
  EMPTY_ROOT,
  InclusionVerifier,
  consistencyProofOf,
  hashChildren,
  hashLeaf,
  inclusionPathOf,
  proveConsistency,
  proveInclusion,
  rootFromInclusionProof,
  rootOfRange,
  storedHashCount,
  treeHash,
  verifyConsistency,
  verifyInclusion,
  type HashReader,
} from '../../../ledger/merkle/index.ts';
import { LedgerError } from '../../../ledger/errors.ts';
import { hex, loadVectors, toHex } from './vectors.ts';

interface InclusionCase {
  desc: string;
  source?: string;
  wantErr: boolean;
  leafIndex: number;
  treeSize: number;
  leafHash?: string;
  leafData?: string;
  root: string;
  proof: string[];
}
interface ConsistencyCase {
  desc: string;
  source: string;
  wantErr: boolean;
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[];
}

/** Stores the hashes of `leaves` as the ledger does and serves them back by index. */
function memoryTree(leaves: readonly Uint8Array[]): HashReader & { count: number } {
  const stored: Uint8Array[] = [];
  const range = CompactRange.empty();
  for (const leaf of leaves) for (const { index, hash } of range.append(leaf)) stored[index] = hash;
  return {
    count: stored.length,
    readHashes: async (indexes) =>
      indexes.map((i) => {
        const h = stored[i];
        if (!h) throw new Error(`hash ${i} not stored`);
        return h;
      }),
  };
}

const leafHashes = (n: number): Uint8Array[] =>
  Array.from({ length: n }, (_, i) => hashLeaf(Buffer.from(`leaf ${i}`)));

function throwsLedgerError(fn: () => unknown): LedgerError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LedgerError);
    return err as LedgerError;
  }
  throw new Error('expected a LedgerError');
}

describe('hasher (hashes.json)', () => {
  const v = loadVectors<{
    emptyRoot: string;
    leaf: { data: string; hash: string }[];
    node: { left: string; right: string; hash: string }[];
  }>('hashes.json');
  it('has the empty root', () => expect(toHex(EMPTY_ROOT)).toBe(v.emptyRoot));
  it.each(v.leaf)('hashes leaf $data', ({ data, hash }) => expect(toHex(hashLeaf(hex(data)))).toBe(hash));
  it.each(v.node)('hashes node $left $right', ({ left, right, hash }) =>
    expect(toHex(hashChildren(hex(left), hex(right)))).toBe(hash),
  );
  // Node hashing reuses one input buffer and one WebAssembly instance; what it returns must still be the
  // caller's to keep (CompactRange and the stores hold on to node hashes).
  it('returns a node hash that later calls do not overwrite', () => {
    const [a, b] = leafHashes(2) as [Uint8Array, Uint8Array];
    const node = hashChildren(a, b);
    const kept = toHex(node);
    hashChildren(b, a);
    expect(toHex(node)).toBe(kept);
  });
  // 32-byte children take the WebAssembly hasher, any other length node:crypto; both must be SHA-256.
  it('hashes nodes as node:crypto does', () =>
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 64 })),
        fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 64 })),
        (left, right) => {
          const want = createHash('sha256').update(Uint8Array.of(1)).update(left).update(right).digest('hex');
          expect(toHex(hashChildren(left, right))).toBe(want);
        },
      ),
    ));
});

describe('roots (roots.json)', () => {
  const v = loadVectors<{
    leaves: string[];
    roots: { treeSize: number; root: string }[];
    nodeHashes: string[][];
  }>('roots.json');
  const leaves = v.leaves.map((l) => hashLeaf(hex(l)));
  it.each(v.roots)('MTH of size $treeSize', async ({ treeSize, root }) => {
    expect(toHex(rootOfRange(leaves, 0, treeSize))).toBe(root);
    const range = CompactRange.empty();
    leaves.slice(0, treeSize).forEach((l) => range.append(l));
    expect(toHex(range.root())).toBe(root);
    expect(toHex(await treeHash(treeSize, memoryTree(leaves.slice(0, treeSize))))).toBe(root);
  });
  it('has every complete subtree hash', () => {
    v.nodeHashes.forEach((level, l) =>
      level.forEach((h, i) => expect(toHex(rootOfRange(leaves, i * 2 ** l, (i + 1) * 2 ** l))).toBe(h)),
    );
  });
});

describe('inclusion proofs (inclusion.json, inclusion-large.json)', () => {
  const cases = [
    ...loadVectors<{ cases: InclusionCase[] }>('inclusion.json').cases,
    ...loadVectors<{ cases: InclusionCase[] }>('inclusion-large.json').cases,
  ];
  it.each(cases.map((c) => [`${c.source ?? ''} ${c.desc}`, c] as const))('%s', (_name, c) => {
    const leafHash = c.leafHash !== undefined ? hex(c.leafHash) : hashLeaf(hex(c.leafData!));
    const run = () => verifyInclusion(c.leafIndex, c.treeSize, leafHash, c.proof.map(hex), hex(c.root));
    if (c.wantErr) throwsLedgerError(run);
    else expect(run()).toBeUndefined();
  });
});

describe('consistency proofs (consistency.json)', () => {
  const { cases } = loadVectors<{ cases: ConsistencyCase[] }>('consistency.json');
  it.each(cases.map((c) => [`${c.source} ${c.desc}`, c] as const))('%s', (_name, c) => {
    const run = () => verifyConsistency(c.size1, c.size2, hex(c.root1), hex(c.root2), c.proof.map(hex));
    if (c.wantErr) throwsLedgerError(run);
    else expect(run()).toBeUndefined();
  });
  it('accepts size 0 with an empty proof only when asked (C2SP tlog-witness)', () => {
    const root = rootOfRange(leafHashes(3));
    throwsLedgerError(() => verifyConsistency(0, 3, EMPTY_ROOT, root, []));
    expect(verifyConsistency(0, 3, EMPTY_ROOT, root, [], { allowEmptyOld: true })).toBeUndefined();
    throwsLedgerError(() => verifyConsistency(0, 3, root, root, [], { allowEmptyOld: true }));
    // From the empty tree to itself: the new root must be the empty one too.
    expect(verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [], { allowEmptyOld: true })).toBeUndefined();
    expect(
      throwsLedgerError(() => verifyConsistency(0, 0, EMPTY_ROOT, root, [], { allowEmptyOld: true })).code,
    ).toBe('LEDGER_ROOT_MISMATCH');
  });
});

describe('subtree vectors (subtree-accumulated.json)', () => {
  const v = loadVectors<{ maxSize: number; subtreeHash: string; subtreeInclusion: string }>(
    'subtree-accumulated.json',
  );
  const leaves = Array.from({ length: v.maxSize }, (_, i) => hashLeaf(Uint8Array.of(i)));
  // A valid subtree [start, end): start == 0, start == end, or start a multiple of bit_ceil(end - start).
  const valid = (start: number, end: number) => {
    if (start === 0 || start === end) return true;
    let ceil = 1;
    while (ceil < end - start) ceil *= 2;
    return start % ceil === 0;
  };
  it('reproduces every subtree hash', () => {
    const digest = createHash('sha256');
    for (let end = 0; end <= v.maxSize; end++)
      for (let start = 0; start <= end; start++)
        if (valid(start, end))
          digest.update(`[${start}, ${end}) ${toHex(rootOfRange(leaves, start, end))}\n`);
    expect(digest.digest('hex')).toBe(v.subtreeHash);
  });
  it('reproduces every subtree inclusion proof', () => {
    const digest = createHash('sha256');
    for (let end = 0; end <= v.maxSize; end++)
      for (let start = 0; start < end; start++) {
        if (!valid(start, end)) continue;
        for (let index = start; index < end; index++) {
          const proof = inclusionPathOf(leaves, index - start, start, end);
          digest.update(`${index} [${start}, ${end})${proof.map((p) => ` ${toHex(p)}`).join('')}\n`);
        }
      }
    expect(digest.digest('hex')).toBe(v.subtreeInclusion);
  });
});

describe('proofs from stored hashes', () => {
  it('stores about two hashes per leaf, in append order', () => {
    for (let n = 1; n <= 300; n++) expect(memoryTree(leafHashes(n)).count).toBe(storedHashCount(n));
    expect(storedHashCount(1_000_000)).toBeLessThan(2_000_000);
  });

  it('matches the RFC definitions for every index and size up to 40', async () => {
    const leaves = leafHashes(40);
    const reader = memoryTree(leaves);
    for (let size = 1; size <= 40; size++) {
      const tree = leaves.slice(0, size);
      for (let i = 0; i < size; i++)
        expect((await proveInclusion(size, i, reader)).map(toHex)).toEqual(
          inclusionPathOf(tree, i).map(toHex),
        );
      for (let m = 0; m <= size; m++)
        expect((await proveConsistency(m, size, reader)).map(toHex)).toEqual(
          consistencyProofOf(tree, m).map(toHex),
        );
    }
  });
});

// Flips bit `bit` of a copy of `bytes`.
const flip = (bytes: Uint8Array, bit: number): Uint8Array => {
  const copy = Uint8Array.from(bytes);
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
};

describe('properties', () => {
  const leaves = leafHashes(300);
  const reader = memoryTree(leaves);

  it('every inclusion proof verifies, and every single-bit change is rejected', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 300 })
          .chain((size) => fc.tuple(fc.constant(size), fc.nat(size - 1), fc.nat(255))),
        async ([size, index, bit]) => {
          const root = rootOfRange(leaves, 0, size);
          const proof = await proveInclusion(size, index, reader);
          verifyInclusion(index, size, leaves[index]!, proof, root);
          throwsLedgerError(() => verifyInclusion(index, size, flip(leaves[index]!, bit), proof, root));
          throwsLedgerError(() => verifyInclusion(index, size, leaves[index]!, proof, flip(root, bit)));
          proof.forEach((_, p) => {
            const bad = proof.map((h, i) => (i === p ? flip(h, bit) : h));
            throwsLedgerError(() => verifyInclusion(index, size, leaves[index]!, bad, root));
          });
          // An inclusion proof binds the path, not the size (LEDGER.md §1): a flipped size must be rejected
          // unless the leaf has exactly the same path there, which is why sizes come from signed checkpoints.
          for (let b = 0; b < 10; b++) {
            const other = size ^ (1 << b);
            let verifies = false;
            try {
              verifyInclusion(index, other, leaves[index]!, proof, root);
              verifies = true;
            } catch (err) {
              expect(err).toBeInstanceOf(LedgerError);
            }
            if (verifies)
              expect(proof.length).toBe(inclusionPathOf(new Array(other).fill(leaves[0]), index).length);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('every consistency proof verifies, and every single-bit change is rejected', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 300 })
          .chain((size2) => fc.tuple(fc.integer({ min: 1, max: size2 }), fc.constant(size2), fc.nat(255))),
        async ([size1, size2, bit]) => {
          const root1 = rootOfRange(leaves, 0, size1);
          const root2 = rootOfRange(leaves, 0, size2);
          const proof = await proveConsistency(size1, size2, reader);
          verifyConsistency(size1, size2, root1, root2, proof);
          throwsLedgerError(() => verifyConsistency(size1, size2, flip(root1, bit), root2, proof));
          throwsLedgerError(() => verifyConsistency(size1, size2, root1, flip(root2, bit), proof));
          proof.forEach((_, p) => {
            const bad = proof.map((h, i) => (i === p ? flip(h, bit) : h));
            throwsLedgerError(() => verifyConsistency(size1, size2, root1, root2, bad));
          });
          for (let b = 0; b < 10; b++) {
            const other1 = size1 ^ (1 << b);
            if (other1 >= 1 && other1 <= size2 && other1 !== size1)
              throwsLedgerError(() => verifyConsistency(other1, size2, root1, root2, proof));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a verifier shared by many proofs gives each the outcome verifyInclusion gives it', async () => {
    const outcome = (fn: () => void): string => {
      try {
        fn();
        return 'ok';
      } catch (err) {
        expect(err).toBeInstanceOf(LedgerError);
        return (err as LedgerError).code;
      }
    };
    const change = fc.oneof(
      fc.constant({ kind: 'none' as const }),
      fc.record({ kind: fc.constant('proof' as const), at: fc.nat(), bit: fc.nat(255) }),
      fc.record({ kind: fc.constant('leaf' as const), bit: fc.nat(255) }),
      fc.constant({ kind: 'drop' as const }),
      fc.constant({ kind: 'extra' as const }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 300 })
          .chain((size) =>
            fc.tuple(
              fc.constant(size),
              fc.array(fc.tuple(fc.nat(size - 1), change), { minLength: 1, maxLength: 60 }),
            ),
          ),
        async ([size, checks]) => {
          const root = rootOfRange(leaves, 0, size);
          const verifier = new InclusionVerifier(size, root);
          for (const [index, c] of checks) {
            let proof = await proveInclusion(size, index, reader);
            let leaf = leaves[index]!;
            // Size 1 has an empty proof: nothing to flip or drop.
            const changed =
              c.kind === 'leaf' || c.kind === 'extra' || (c.kind !== 'none' && proof.length > 0);
            if (c.kind === 'proof' && proof.length > 0)
              proof = proof.map((h, i) => (i === c.at % proof.length ? flip(h, c.bit) : h));
            if (c.kind === 'leaf') leaf = flip(leaf, c.bit);
            if (c.kind === 'drop') proof = proof.slice(0, -1);
            if (c.kind === 'extra') proof = [...proof, leaves[0]!];
            const alone = outcome(() => verifyInclusion(index, size, leaf, proof, root));
            expect(outcome(() => verifier.verify(index, leaf, proof))).toBe(alone);
            if (changed) expect(alone).not.toBe('ok');
          }
          // Every leaf, in order, as a bundle holds them: all verify against the nodes remembered so far.
          for (let index = 0; index < size; index++)
            verifier.verify(index, leaves[index]!, await proveInclusion(size, index, reader));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a shared verifier gives the code and message verifyInclusion gives, for proofs changed at random (seeded)', () => {
    // mulberry32 with a fixed seed: the same trials on every run, so that any difference can be replayed.
    let seed = 0x5eed;
    const random = (n: number): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
    };
    const outcome = (fn: () => void): string => {
      try {
        fn();
        return 'ok';
      } catch (err) {
        expect(err).toBeInstanceOf(LedgerError);
        return `${(err as LedgerError).code}: ${(err as LedgerError).message}`;
      }
    };
    const differences: string[] = [];
    let trials = 0;
    for (let tree = 0; tree < 60; tree++) {
      const size = 1 + random(70);
      const treeLeaves = leaves.slice(0, size);
      const root = rootOfRange(treeLeaves);
      // Shared by all the tree's proofs, good and bad, so that bad ones meet nodes proven by earlier ones.
      const verifier = new InclusionVerifier(size, root);
      for (let k = 0; k < 3 * size; k++, trials++) {
        let index = random(size);
        let leaf = leaves[index]!;
        let proof = inclusionPathOf(treeLeaves, index);
        const junk = hashLeaf(Buffer.from(`junk ${tree} ${k}`));
        const at = random(Math.max(proof.length, 1));
        switch (random(9)) {
          case 0:
            proof = proof.map((h, i) => (i === at ? junk : h));
            break;
          case 1:
            proof = [...proof, junk];
            break;
          case 2:
            proof = proof.slice(0, -1);
            break;
          case 3:
            index = random(size);
            break;
          case 4:
            proof = [...proof].reverse();
            break;
          case 5:
            leaf = junk;
            break;
          case 6:
            if (at + 1 < proof.length)
              proof = [...proof.slice(0, at), proof[at + 1]!, proof[at]!, ...proof.slice(at + 2)];
            break;
          case 7:
            // Another leaf's path, often of another length: a proof too long or short for this leaf.
            proof = inclusionPathOf(treeLeaves, random(size));
            break;
        }
        const alone = outcome(() => verifyInclusion(index, size, leaf, proof, root));
        const shared = outcome(() => verifier.verify(index, leaf, proof));
        if (shared !== alone)
          differences.push(`size ${size}, leaf ${index}: verifier ${shared}; verifyInclusion ${alone}`);
      }
    }
    expect(trials).toBeGreaterThan(5_000);
    expect(differences.slice(0, 5), `${differences.length} of ${trials} differ`).toEqual([]);
  });

  it('rejects hostile sizes with LedgerError, not RangeError', () => {
    const proof = [leaves[1]!];
    for (const size of [-1, 1.5, Number.NaN, 2 ** 60]) {
      throwsLedgerError(() => rootFromInclusionProof(0, size, leaves[0]!, proof));
      throwsLedgerError(() => new InclusionVerifier(size, EMPTY_ROOT).verify(0, leaves[0]!, proof));
    }
  });
});
