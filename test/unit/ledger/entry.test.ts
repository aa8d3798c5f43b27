import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ANCHOR_DATA_BYTES, LedgerError, encodeAnchorData, encodeEntry } from '../../../ledger/index.ts';
import { formatTilePath, parseTilePath } from '../../../ledger/index.ts';

describe('canonical entries (RFC 8785)', () => {
  it('sorts keys, drops white space and formats numbers the JCS way', () => {
    const { bytes, type } = encodeEntry({ type: 'decision', b: [1e21, 0.1, -0], a: { z: 'é', y: null } });
    expect(type).toBe('decision');
    expect(Buffer.from(bytes).toString('utf8')).toBe(
      '{"a":{"y":null,"z":"é"},"b":[1e+21,0.1,0],"type":"decision"}',
    );
  });

  it('takes any type the database can store as text', () => {
    for (const type of ['waiver.requested', 'x'.repeat(128), 'décision', 'emoji \u{1F600}'])
      expect(encodeEntry({ type }).type).toBe(type);
  });

  it('hashes leaf = SHA-256(0x00 || bytes)', () => {
    const { bytes, leafHash } = encodeEntry({ type: 'attestation' });
    expect(Buffer.from(leafHash).toString('hex')).toBe(
      createHash('sha256')
        .update(Buffer.concat([Buffer.from([0]), bytes]))
        .digest('hex'),
    );
  });

  it.each([
    ['no type', { n: 1 }],
    ['an empty type', { type: '' }],
    ['a non-string type', { type: 7 }],
    ['an array', [] as unknown as Record<string, unknown>],
    ['a value JSON cannot hold', { type: 'x', n: 10n }],
    ['a NUL in the type', { type: 'decision\u0000' }],
    ['a line break in the type', { type: 'a\nb' }],
    ['an unpaired surrogate in the type', { type: 'x\uD800' }],
    ['a type of 129 characters', { type: 'x'.repeat(129) }],
  ])('throws LEDGER_ENTRY_INVALID for %s', (_why, entry) => {
    try {
      encodeEntry(entry as Record<string, unknown>);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(LedgerError);
      expect((err as LedgerError).code).toBe('LEDGER_ENTRY_INVALID');
    }
  });
});

describe('anchor data layout', () => {
  it('is "ARB1" || SHA-256(origin) || uint64 size || root', () => {
    const root = new Uint8Array(32).fill(0xab);
    const data = Buffer.from(encodeAnchorData('arbiter.example/eu', 0x0102030405, root));
    expect(data.length).toBe(ANCHOR_DATA_BYTES);
    expect(data.subarray(0, 4).toString('ascii')).toBe('ARB1');
    expect(data.subarray(4, 36).toString('hex')).toBe(
      createHash('sha256').update('arbiter.example/eu').digest('hex'),
    );
    expect(data.subarray(36, 44).toString('hex')).toBe('0000000102030405');
    expect(data.subarray(44).toString('hex')).toBe('ab'.repeat(32));
  });
});

describe('tlog-tiles paths', () => {
  it.each([
    [{ kind: 'hash', level: 0, index: 0 }, 'tile/0/000'],
    [{ kind: 'hash', level: 2, index: 1234067, width: 17 }, 'tile/2/x001/x234/067.p/17'],
    [{ kind: 'entries', index: 1000 }, 'tile/entries/x001/000'],
  ] as const)('formats and parses %j', (tile, text) => {
    expect(formatTilePath(tile)).toBe(text);
    expect(parseTilePath(text)).toEqual(tile);
  });
  it.each([
    'tile/0/1',
    'tile/0/x1/000',
    'tile/00/000',
    'tile/0/000.p/0',
    'tile/0/000.p/256',
    'tile/x/000',
    // Other spellings of tiles that exist: only the canonical one names them.
    'tile/0/x000/000',
    'tile/0/x000/x000/000.p/7',
    'tile/entries/x000/001',
    'tile/2/x000/x001/x234/067.p/17',
  ])('rejects %s', (text) => expect(parseTilePath(text)).toBeUndefined());
});
