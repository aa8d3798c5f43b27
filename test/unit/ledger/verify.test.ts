import canonicalize from 'canonicalize';
import { Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { verifyBundle, type AuditBundle, type VerifyBundleOptions } from '../../../ledger/index.ts';
import { consistencyProofOf, hashLeaf, inclusionPathOf, rootOfRange } from '../../../ledger/merkle/index.ts';
import {
  ed25519Signer,
  formatCheckpoint,
  signCheckpointEip191,
  signNote,
} from '../../../ledger/note/index.ts';
import { loadVectors, toHex } from './vectors.ts';

// Bundles are attacker-controlled files: the verifier must report, never throw, whatever their shape.
const tessera = loadVectors<{ vkey: string; checkpoints: { checkpoint: string }[] }>(
  'tessera-testdata-log.json',
);
const base = {
  format: 'arbiter.ledger.bundle/v1',
  region: 'eu',
  origin: 'example.com/log/testdata',
  keys: {
    origin: 'example.com/log/testdata',
    ed25519_vkey: tessera.vkey,
    eip191_address: '0x' + '00'.repeat(20),
  },
  from: 0,
  to: 0,
  entries: [],
  checkpoints: [],
  inclusion_proofs: [],
  consistency_proofs: [],
  anchors: [],
};

describe('verifyBundle on hostile input', () => {
  it.each([
    ['null', null],
    ['a string', 'bundle'],
    ['an empty object', {}],
    ['entries that are not a list', { ...base, entries: 'x' }],
    ['no keys', { ...base, keys: undefined }],
    ['a bad vkey', { ...base, keys: { ...base.keys, ed25519_vkey: 'x+y+z' } }],
    [
      'null items',
      { ...base, entries: [null], checkpoints: [null], inclusion_proofs: [null], anchors: [null] },
    ],
    [
      'proofs that are not lists',
      {
        ...base,
        entries: [{ seq: 0, leaf_hash: 'zz', entry_b64: '!!' }],
        inclusion_proofs: [{ seq: 0, size: 1, proof: 'x' }],
        consistency_proofs: [{ from: 1, to: 2, proof: 7 }],
      },
    ],
  ])('reports %s as a failure', async (_why, bundle) => {
    const report = await verifyBundle(bundle as unknown as AuditBundle, { trustedVkey: tessera.vkey });
    expect(report.ok).toBe(false);
    expect(report.failures.length).toBeGreaterThan(0);
  });

  it('checks Tessera checkpoints: signatures verify, the missing EIP-191 signature is named', async () => {
    const checkpoints = tessera.checkpoints.slice(1, 3).map((c, i) => ({
      size: i + 1,
      root: toHex(Buffer.from(c.checkpoint.split('\n')[2]!, 'base64')),
      note: c.checkpoint,
      eip191_signature: '0x',
      created_at: '2026-01-01T00:00:00.000Z',
    }));
    const report = await verifyBundle({ ...base, checkpoints } as unknown as AuditBundle, {
      trustedVkey: tessera.vkey,
    });
    expect(report.failures).toEqual([
      { check: 'checkpoint', size: 1, message: 'EIP-191 signature does not verify' },
      { check: 'checkpoint', size: 2, message: 'EIP-191 signature does not verify' },
      { check: 'checkpoint', message: "no valid checkpoint covers the bundle's range [0, 0)" },
    ]);
  });
});

// A log of our own, built in memory: entries 0..6, checkpoints at 2, 5 and 7, an anchor of size 5.
const origin = 'arbiter.example/eu';
const signer = ed25519Signer(origin, new Uint8Array(32).fill(1));
const wallet = new Wallet('0x' + '22'.repeat(32));
const anchorWallet = new Wallet('0x' + '33'.repeat(32));
const objects = Array.from({ length: 7 }, (_, n) => ({ type: 'decision', model: `m${n}`, n }));
const bodies = objects.map((o) => Buffer.from(canonicalize(o)!, 'utf8'));
const leaves = bodies.map((b) => hashLeaf(b));

async function logBundle(): Promise<AuditBundle> {
  const sizes = [2, 5, 7];
  const checkpoints = await Promise.all(
    sizes.map(async (size) => {
      const root = rootOfRange(leaves.slice(0, size));
      const text = formatCheckpoint({ origin, size, root });
      return {
        size,
        root: toHex(root),
        note: signNote(text, [signer]),
        eip191_signature: await signCheckpointEip191(wallet, text),
        created_at: '2026-01-01T00:00:00.000Z',
      };
    }),
  );
  const provenAt = (seq: number) => sizes.find((s) => s > seq)!;
  return {
    format: 'arbiter.ledger.bundle/v1',
    region: 'eu',
    origin,
    keys: { origin, ed25519_vkey: signer.vkey, eip191_address: wallet.address },
    from: 0,
    to: 7,
    entries: objects.map((entry, seq) => ({
      seq,
      leaf_hash: toHex(leaves[seq]!),
      entry,
      entry_b64: bodies[seq]!.toString('base64'),
    })),
    checkpoints,
    inclusion_proofs: objects.map((_, seq) => ({
      seq,
      size: provenAt(seq),
      leaf_hash: toHex(leaves[seq]!),
      proof: inclusionPathOf(leaves.slice(0, provenAt(seq)), seq).map(toHex),
    })),
    consistency_proofs: [
      { from: 2, to: 5, proof: consistencyProofOf(leaves.slice(0, 5), 2).map(toHex) },
      { from: 5, to: 7, proof: consistencyProofOf(leaves, 5).map(toHex) },
    ],
    anchors: [
      {
        size: 5,
        root: checkpoints[1]!.root,
        chain_id: 31337,
        tx_hash: '0x' + 'ab'.repeat(32),
        block_number: 3,
        status: 1,
        from_address: anchorWallet.address,
        created_at: '2026-01-01T00:00:01.000Z',
      },
    ],
  };
}

const pinned: VerifyBundleOptions = {
  trustedVkey: signer.vkey,
  trustedEip191Address: wallet.address,
  trustedAnchorAddress: anchorWallet.address,
};
type Mutable = { -readonly [K in keyof AuditBundle]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
const edited = async (edit: (b: Mutable) => void): Promise<AuditBundle> => {
  const bundle = structuredClone(await logBundle()) as Mutable;
  edit(bundle);
  return bundle as AuditBundle;
};
const messages = async (bundle: AuditBundle, options = pinned) =>
  (await verifyBundle(bundle, options)).failures.map((f) => `${f.check}: ${f.message}`);

describe('verifyBundle on a bundle of a log built here', () => {
  it('fails an entry whose hashed bytes are no UTF-8, though they decode to the JSON it shows', async () => {
    // The JSON shows U+FFFD; the log hashed a lone 0xFF byte where its three UTF-8 bytes would be.
    const entry = { type: 'decision', note: '\uFFFD' };
    const body = Buffer.from(canonicalize(entry)!.replace('\uFFFD', '?'), 'utf8');
    body[body.indexOf('?')] = 0xff;
    expect(body.toString('utf8')).toBe(canonicalize(entry));
    const leaf = hashLeaf(body);
    const text = formatCheckpoint({ origin, size: 1, root: leaf });
    const bundle = {
      ...(await logBundle()),
      from: 0,
      to: 1,
      entries: [{ seq: 0, leaf_hash: toHex(leaf), entry, entry_b64: body.toString('base64') }],
      checkpoints: [
        {
          size: 1,
          root: toHex(leaf),
          note: signNote(text, [signer]),
          eip191_signature: await signCheckpointEip191(wallet, text),
          created_at: '2026-01-01T00:00:00.000Z',
        },
      ],
      inclusion_proofs: [{ seq: 0, size: 1, leaf_hash: toHex(leaf), proof: [] }],
      consistency_proofs: [],
      anchors: [],
    };
    expect(await messages(bundle)).toEqual(['entry: entry JSON does not match the hashed bytes']);
  });

  it('passes with the pinned keys and lists what no signature covers', async () => {
    const report = await verifyBundle(await logBundle(), pinned);
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checked).toEqual({
      entries: 7,
      citedEntries: 0,
      checkpoints: 3,
      consistencyProofs: 2,
      anchors: 1,
    });
    expect(report.unverified.join('\n')).toContain('checkpoints[].created_at');
    expect(report.unverified.join('\n')).toContain('anchors[].tx_hash');
  });

  it('fails when the key is only the one the bundle carries, saying how to pin it', async () => {
    const report = await verifyBundle(await logBundle());
    expect(report.ok).toBe(false);
    expect(report.failures).toHaveLength(1);
    expect(report.failures[0]!.check).toBe('key');
    expect(report.failures[0]!.message).toMatch(/not pinned.*--trusted-vkey.*GET \/v1\/ledger\/eu\/keys/);
  });

  it("fails a bundle signed with someone else's keys once the log's keys are pinned", async () => {
    const forger = ed25519Signer(origin, new Uint8Array(32).fill(7));
    const forged = await edited((b) => {
      b.keys.ed25519_vkey = forger.vkey;
      b.checkpoints = b.checkpoints.map((c: { note: string }) => ({
        ...c,
        note: signNote(c.note.slice(0, c.note.lastIndexOf('\n\n') + 1), [forger]),
      }));
    });
    expect(await messages(forged, { trustedVkey: forger.vkey })).toEqual([]);
    expect(await messages(forged)).toContain('key: the bundle names a different key than the trusted vkey');
    expect(
      await messages(await logBundle(), { ...pinned, trustedEip191Address: Wallet.createRandom().address }),
    ).toContain('key: the bundle names a different EIP-191 address than the trusted one');
    expect(await messages(await logBundle(), { ...pinned, trustedAnchorAddress: wallet.address })).toContain(
      'anchor: sent from another address than the trusted anchor address',
    );
  });

  it("links a trusted checkpoint that is one of the bundle's own to the head through the bundle's proofs", async () => {
    const bundle = await logBundle();
    // The bundle has proofs 2 -> 5 -> 7 only, as exported without trusted_size.
    for (const checkpoint of bundle.checkpoints)
      expect(await messages(bundle, { ...pinned, trustedCheckpoint: checkpoint.note })).toEqual([]);
    // A direct proof the bundle carries is still checked.
    const wrong = await edited((b) =>
      b.consistency_proofs.push({ from: 2, to: 7, proof: consistencyProofOf(leaves, 3).map(toHex) }),
    );
    const trusted = bundle.checkpoints[0]!.note;
    expect(await messages(wrong, { ...pinned, trustedCheckpoint: trusted })).toEqual([
      expect.stringMatching(/^trusted_checkpoint: /),
    ]);
    // The same size with another root, signed by the log's own key: the log showed two trees of size 5.
    const forkRoot = rootOfRange([...leaves.slice(0, 4), hashLeaf(Buffer.from('{"type":"other"}'))]);
    const fork = signNote(formatCheckpoint({ origin, size: 5, root: forkRoot }), [signer]);
    expect(await messages(bundle, { ...pinned, trustedCheckpoint: fork })).toEqual([
      "trusted_checkpoint: the bundle's checkpoint of size 5 has another root than the trusted one: the log forked",
    ]);
    // A size the bundle has no checkpoint of still needs the direct proof.
    const between = signNote(formatCheckpoint({ origin, size: 3, root: rootOfRange(leaves.slice(0, 3)) }), [
      signer,
    ]);
    expect(await messages(bundle, { ...pinned, trustedCheckpoint: between })).toEqual([
      'trusted_checkpoint: no consistency proof from 3 to 7',
    ]);
    const proven = await edited((b) =>
      b.consistency_proofs.push({ from: 3, to: 7, proof: consistencyProofOf(leaves, 3).map(toHex) }),
    );
    expect(await messages(proven, { ...pinned, trustedCheckpoint: between })).toEqual([]);
  });

  it.each([
    ['an entry left out', (b: Mutable) => b.entries.splice(3, 1), /1 entries of \[0, 7\) are missing: seq 3/],
    ['no entries at all', (b: Mutable) => (b.entries = []), /7 entries of \[0, 7\) are missing/],
    ['a range beyond every checkpoint', (b: Mutable) => (b.to = 9), /no valid checkpoint covers/],
    ['from above to', (b: Mutable) => (b.from = 8), /0 <= from <= to/],
    ['a negative from', (b: Mutable) => (b.from = -1), /0 <= from <= to/],
    ['an entry twice', (b: Mutable) => b.entries.push(b.entries[2]), /more than once/],
    ['an entry outside [from, to)', (b: Mutable) => (b.from = 1), /outside the bundle's range/],
  ])('fails %s', async (_why, edit, failure) => {
    const found = await messages(await edited(edit));
    expect(found.some((m) => failure.test(m))).toBe(true);
  });

  it.each([
    ['an inclusion proof leaf_hash', (b: Mutable) => (b.inclusion_proofs[1].leaf_hash = '00'.repeat(32))],
    ['a checkpoint size', (b: Mutable) => (b.checkpoints[0].size = 3)],
    ['a checkpoint root', (b: Mutable) => (b.checkpoints[0].root = b.checkpoints[1].root)],
    ['an anchor root', (b: Mutable) => (b.anchors[0].root = b.checkpoints[2].root)],
    ['an anchor status', (b: Mutable) => (b.anchors[0].status = 0)],
    ['keys.origin', (b: Mutable) => (b.keys.origin = 'evil.example/x')],
    ['a checkpoint created_at', (b: Mutable) => (b.checkpoints[0].created_at = '2026-01-01T00:00:00.000Y')],
    ['the region', (b: Mutable) => (b.region = 'e u')],
    ['an entry without `entry`', (b: Mutable) => delete b.entries[1].entry],
    ['an unknown field', (b: Mutable) => (b.checkpoints[0].extra = 1)],
    ['a lowercase address', (b: Mutable) => (b.anchors[0].from_address = anchorWallet.address.toLowerCase())],
    [
      'an inclusion proof of no entry',
      (b: Mutable) => b.inclusion_proofs.push({ ...b.inclusion_proofs[0], seq: 9 }),
    ],
    [
      'a re-spelled EIP-191 signature',
      (b: Mutable) => (b.checkpoints[0].eip191_signature = b.checkpoints[0].eip191_signature.toUpperCase()),
    ],
  ])('fails an edited %s', async (_why, edit) => {
    const report = await verifyBundle(await edited(edit), pinned);
    expect(report.ok).toBe(false);
  });
});

// Entries [5, 7) citing earlier entries, each proven against the head (size 7), as the reader writes them.
const citing = async (seqs: number[]): Promise<Mutable> => {
  const bundle = structuredClone(await logBundle()) as Mutable;
  bundle.from = 5;
  bundle.cited = bundle.entries.filter((e: { seq: number }) => seqs.includes(e.seq));
  bundle.entries = bundle.entries.filter((e: { seq: number }) => e.seq >= 5);
  bundle.inclusion_proofs = [
    ...bundle.inclusion_proofs.filter((p: { seq: number }) => p.seq >= 5),
    ...seqs.map((seq) => ({
      seq,
      size: 7,
      leaf_hash: toHex(leaves[seq]!),
      proof: inclusionPathOf(leaves, seq).map(toHex),
    })),
  ];
  return bundle;
};

describe('verifyBundle on the earlier entries a bundle cites', () => {
  it('checks each cited entry as it checks the range', async () => {
    const report = await verifyBundle((await citing([1, 3])) as AuditBundle, pinned);
    expect(report.failures).toEqual([]);
    expect(report.checked).toMatchObject({ entries: 2, citedEntries: 2 });
  });

  it('accepts a bundle written before `cited` existed', async () => {
    const bundle = await citing([]);
    delete bundle.cited;
    expect(await messages(bundle as AuditBundle)).toEqual([]);
  });

  it.each([
    ['a cited entry within the range', (b: Mutable) => b.cited.push(b.entries[0]), /more than once/],
    [
      'a cited entry after the range',
      (b: Mutable) => ((b.from = 3), (b.to = 5)),
      /a cited entry's seq is not before the range \[3, 5\)/,
    ],
    [
      'a cited entry edited',
      (b: Mutable) => (b.cited[0].entry.model = 'm9'),
      /does not match the hashed bytes/,
    ],
    [
      'a cited entry without its proof',
      (b: Mutable) => (b.inclusion_proofs = b.inclusion_proofs.filter((p: { seq: number }) => p.seq !== 1)),
      /entry: no inclusion proof/,
    ],
    [
      'a cited entry proven against the wrong leaf',
      (b: Mutable) => (b.inclusion_proofs.at(-1).proof = inclusionPathOf(leaves, 1).map(toHex)),
      /inclusion|root/,
    ],
    ['`cited` that is not a list', (b: Mutable) => (b.cited = {}), /not an arbiter.ledger.bundle\/v1/],
  ])('fails %s', async (_why, edit, failure) => {
    const bundle = await citing([1, 3]);
    edit(bundle);
    const found = await messages(bundle as AuditBundle);
    expect(
      found.some((m) => failure.test(m)),
      found.join('\n'),
    ).toBe(true);
  });
});
