import { Signature, Wallet } from 'ethers';
import { describe, expect, it } from 'vitest';
import { LedgerError } from '../../../ledger/errors.ts';
import { CompactRange, hashLeaf } from '../../../ledger/merkle/index.ts';
import {
  ed25519Signer,
  formatCheckpoint,
  openNote,
  parseCheckpoint,
  parseGoPrivateKey,
  parseVerifierKey,
  signCheckpointEip191,
  signNote,
  verifyCheckpointEip191,
} from '../../../ledger/note/index.ts';
import { hex, loadVectors, toHex } from './vectors.ts';

interface NoteCase {
  name: string;
  vkey: string;
  skey?: string;
  seedHex?: string;
  keyName?: string;
  vkeyKeyID?: string;
  text?: string;
  note?: string;
  signature?: string;
  wantValid: boolean;
}
const notes = loadVectors<{ cases: NoteCase[]; badVkeys: { vkey: string; why: string }[] }>(
  'signed-notes.json',
);
const tessera = loadVectors<{
  origin_line: string;
  vkey: string;
  skey: string;
  entries: string[];
  checkpoints: { treeSize: number; checkpoint: string }[];
}>('tessera-testdata-log.json');

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LedgerError);
    return (err as LedgerError).code;
  }
  return undefined;
};

describe('signed-note vectors (signed-notes.json)', () => {
  it.each(notes.cases.filter((c) => c.note))('$name', (c) => {
    const open = () => openNote(c.note!, [parseVerifierKey(c.vkey)]);
    if (c.wantValid) expect(open().verified).toHaveLength(1);
    else expect(codeOf(open)).toBe('LEDGER_CHECKPOINT_INVALID');
  });

  it('re-signs the Go example with its skey to the same bytes', () => {
    const c = notes.cases.find((x) => x.skey)!;
    const { name, seed } = parseGoPrivateKey(c.skey!);
    const signer = ed25519Signer(name, seed);
    expect(signer.vkey).toBe(c.vkey);
    expect(signNote(c.text!, [signer])).toBe(c.note);
  });

  it('derives the zero-seed key and signature', () => {
    const c = notes.cases.find((x) => x.seedHex)!;
    const signer = ed25519Signer(c.keyName!, hex(c.seedHex!));
    expect(signer.vkey).toBe(c.vkey);
    expect(signer.keyId.toString(16).padStart(8, '0')).toBe(c.vkeyKeyID);
    expect(signNote(c.text!, [signer])).toBe(`${c.text}\n\u2014 ${c.keyName} ${c.signature}\n`);
  });

  it.each(notes.badVkeys)('rejects a vkey with $why', ({ vkey }) =>
    expect(codeOf(() => parseVerifierKey(vkey))).toBe('LEDGER_KEY_INVALID'),
  );

  it('ignores signatures from unknown keys next to a known one', () => {
    const known = ed25519Signer('example.com/a', new Uint8Array(32).fill(1));
    const other = ed25519Signer('example.com/b', new Uint8Array(32).fill(2));
    const opened = openNote(signNote('hello\n', [other, known]), [parseVerifierKey(known.vkey)]);
    expect(opened.verified.map((s) => s.name)).toEqual(['example.com/a']);
    expect(opened.unverified.map((s) => s.name)).toEqual(['example.com/b']);
  });

  it('rejects a note whose known-key signature fails even if another verifies', () => {
    const a = ed25519Signer('example.com/a', new Uint8Array(32).fill(1));
    const b = ed25519Signer('example.com/b', new Uint8Array(32).fill(2));
    const note = signNote('hello\n', [a, b]);
    const lines = note.split('\n');
    // Corrupt the last base64 character of a's signature.
    lines[2] = lines[2]!.replace(/.(=?)$/, (m, pad: string) => (m[0] === 'A' ? 'B' : 'A') + pad);
    expect(
      codeOf(() => openNote(lines.join('\n'), [parseVerifierKey(a.vkey), parseVerifierKey(b.vkey)])),
    ).toBe('LEDGER_CHECKPOINT_INVALID');
  });

  it.each([
    ['no signature block', 'hello\n'],
    ['a signature line without the em dash', 'hello\n\n- example.com/a AAAA\n'],
    ['base64 with garbage', 'hello\n\n\u2014 example.com/a AAAA!AAA\n'],
    ['a missing final newline', 'hello\n\n\u2014 example.com/a AAAAAAAA'],
  ])('throws LedgerError (not SyntaxError) on %s', (_why, note) => {
    const a = ed25519Signer('example.com/a', new Uint8Array(32).fill(1));
    expect(codeOf(() => openNote(note, [parseVerifierKey(a.vkey)]))).toBe('LEDGER_CHECKPOINT_INVALID');
  });
});

describe('Tessera test log (tessera-testdata-log.json)', () => {
  const { name, seed } = parseGoPrivateKey(tessera.skey);
  const signer = ed25519Signer(name, seed);
  const verifier = parseVerifierKey(tessera.vkey);

  it('has the key ID 33d7b496 under the origin name', () => {
    expect(signer.vkey).toBe(tessera.vkey);
    expect(name).toBe(tessera.origin_line);
  });

  it.each(tessera.checkpoints)(
    're-signs checkpoint $treeSize to identical bytes',
    ({ treeSize, checkpoint }) => {
      const { text } = openNote(checkpoint, [verifier]);
      const parsed = parseCheckpoint(text);
      expect(parsed.origin).toBe(tessera.origin_line);
      expect(parsed.size).toBe(treeSize);
      // Our tree over the same entries gives the same root, and our formatter the same text.
      const range = CompactRange.empty();
      tessera.entries.slice(0, treeSize).forEach((e) => range.append(hashLeaf(Buffer.from(e, 'utf8'))));
      expect(toHex(range.root())).toBe(toHex(parsed.root));
      expect(formatCheckpoint({ origin: parsed.origin, size: treeSize, root: range.root() })).toBe(text);
      expect(signNote(text, [signer])).toBe(checkpoint);
    },
  );
});

describe('checkpoint text', () => {
  const root = hashLeaf(new Uint8Array());
  const good = formatCheckpoint({ origin: 'arbiter.example/eu', size: 42, root });
  it('round-trips', () => {
    const parsed = parseCheckpoint(good);
    expect({ ...parsed, root: toHex(parsed.root) }).toEqual({
      origin: 'arbiter.example/eu',
      size: 42,
      root: toHex(root),
      extensions: [],
    });
  });
  it.each([
    ['a size with a leading zero', good.replace('\n42\n', '\n042\n')],
    ['a negative size', good.replace('\n42\n', '\n-42\n')],
    ['a size that is not an integer', good.replace('\n42\n', '\n4.2\n')],
    ['a huge size', good.replace('\n42\n', '\n99999999999999999999\n')],
    ['a short root', good.replace(/\n[^\n]+\n$/, '\nAAAA\n')],
    ['no final newline', good.slice(0, -1)],
  ])('throws LedgerError (not SyntaxError) on %s', (_why, text) =>
    expect(codeOf(() => parseCheckpoint(text))).toBe('LEDGER_CHECKPOINT_INVALID'),
  );
});

describe('EIP-191 checkpoint signatures', () => {
  const wallet = new Wallet('0x' + '11'.repeat(32));
  it('verifies with ethers.verifyMessage and rejects other text or signers', async () => {
    const text = tessera.checkpoints[3]!.checkpoint.split('\n\n')[0] + '\n';
    const sig = await signCheckpointEip191(wallet, text);
    expect(verifyCheckpointEip191(text, sig, wallet.address)).toBe(true);
    expect(verifyCheckpointEip191(text.replace('\n3\n', '\n4\n'), sig, wallet.address)).toBe(false);
    expect(verifyCheckpointEip191(text, sig, Wallet.createRandom().address)).toBe(false);
    expect(verifyCheckpointEip191(text, '0x1234', wallet.address)).toBe(false);
  });

  it('accepts only the spelling the signer writes, for the checksummed address', async () => {
    const text = tessera.checkpoints[3]!.checkpoint.split('\n\n')[0] + '\n';
    const sig = await signCheckpointEip191(wallet, text);
    expect(sig).toMatch(/^0x[0-9a-f]{128}(1b|1c)$/);
    const parsed = Signature.from(sig);
    for (const other of [
      '0x' + sig.slice(2).toUpperCase(),
      sig.slice(0, -2) + (parsed.v === 27 ? '00' : '01'),
      parsed.compactSerialized,
      sig + '00',
    ])
      expect(verifyCheckpointEip191(text, other, wallet.address)).toBe(false);
    expect(verifyCheckpointEip191(text, sig, wallet.address.toLowerCase())).toBe(false);
    expect(verifyCheckpointEip191(text, sig, wallet.address)).toBe(true);
  });
});
