import { describe, expect, it } from 'vitest';
import { verifyBundle, type AuditBundle } from '../../../ledger/index.ts';
import { loadVectors } from './vectors.ts';

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
    const report = await verifyBundle(bundle as unknown as AuditBundle);
    expect(report.ok).toBe(false);
    expect(report.failures.length).toBeGreaterThan(0);
  });

  it('checks Tessera checkpoints: signatures verify, the missing EIP-191 signature is named', async () => {
    const checkpoints = tessera.checkpoints.slice(1, 3).map((c, i) => ({
      size: i + 1,
      root: '',
      note: c.checkpoint,
      eip191_signature: '0x',
      created_at: '',
    }));
    const report = await verifyBundle({ ...base, checkpoints } as unknown as AuditBundle);
    expect(report.failures).toEqual([
      { check: 'checkpoint', size: 1, message: 'EIP-191 signature does not verify' },
      { check: 'checkpoint', size: 2, message: 'EIP-191 signature does not verify' },
    ]);
  });
});
