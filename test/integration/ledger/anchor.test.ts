import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { JsonRpcProvider, Wallet, getBytes } from 'ethers';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLedger,
  encodeAnchorData,
  verifyBundle,
  type AuditBundle,
  type Ledger,
  type LedgerTables,
} from '../../../ledger/index.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';
import { TEST_KEYS, waitFor } from './ledger-harness.ts';

// Anchoring against a real EVM node: anvil from @foundry-rs/anvil on a free loopback port.
// Account #0 of anvil's well-known test mnemonic (test-only key).
const ANVIL_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

let anvil: ChildProcess;
let rpcUrl: string;
let tdb: TestDatabase;
let ledger: Ledger;

beforeAll(async () => {
  const port = await freePort();
  rpcUrl = `http://127.0.0.1:${port}`;
  anvil = spawn(
    path.resolve('node_modules/.bin/anvil'),
    ['--host', '127.0.0.1', '--port', String(port), '--silent'],
    {
      stdio: 'ignore',
    },
  );
  const ready = () =>
    fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    }).then(
      (r) => (r.ok ? true : undefined),
      () => undefined,
    );
  await waitFor(ready, 'anvil');
  tdb = await openTestDatabase();
  ledger = await createLedger({
    db: tdb.db as unknown as Kysely<LedgerTables>,
    logs: [
      { region: 'eu', origin: 'arbiter.example/eu' },
      { region: 'us', origin: 'arbiter.example/us' },
    ],
    keys: TEST_KEYS,
    checkpointIntervalMs: 50,
    anchor: { rpcUrl, privateKey: ANVIL_KEY, everyN: 2 },
  });
}, 60_000);

afterAll(async () => {
  await ledger?.stop();
  await tdb?.close();
  anvil?.kill();
});

describe('EVM anchors', () => {
  let bundle: AuditBundle;

  it('anchors a checkpoint with a transaction that commits to origin, size and root', async () => {
    await ledger.append('eu', { type: 'decision', n: 1 });
    const head = await ledger.integrate('eu');
    const anchor = await ledger.anchor('eu');
    expect(anchor).toMatchObject({ size: head.size, root: head.root, chain_id: 31337, status: 1 });
    const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
    const tx = await provider.getTransaction(anchor!.tx_hash);
    expect(getBytes(tx!.data)).toEqual(
      encodeAnchorData('arbiter.example/eu', head.size, Buffer.from(head.root, 'hex')),
    );
    expect(tx!.blockNumber).toBe(anchor!.block_number);
    provider.destroy();
    expect(await ledger.reader.anchors('eu')).toEqual([anchor]);
    // Already anchored: nothing new to send.
    expect(await ledger.anchor('eu')).toBeNull();
  });

  it('anchors every Nth checkpoint in the background', async () => {
    ledger.start();
    for (let n = 0; n < 4; n++) {
      await ledger.append('us', { type: 'decision', n });
      await ledger.integrate('us');
    }
    const anchors = await waitFor(async () => {
      const list = await ledger.reader.anchors('us');
      return list.length > 0 ? list : undefined;
    }, 'a background anchor');
    expect(anchors[0]!.status).toBe(1);
    bundle = await ledger.reader.bundle('us', 0, 4);
    expect(bundle.anchors.length).toBeGreaterThan(0);
  });

  it('verifies anchors on chain with rpcUrl, and names a wrong one', async () => {
    const keys = await ledger.reader.keys('us');
    const anchorAddress = new Wallet(ANVIL_KEY).address;
    const pinned = {
      trustedVkey: keys.ed25519_vkey,
      trustedEip191Address: keys.eip191_address,
      trustedAnchorAddress: anchorAddress,
    };
    const report = await verifyBundle(bundle, { ...pinned, rpcUrl });
    expect(report.failures).toEqual([]);
    expect(report.anchorsCheckedOnChain).toBe(true);
    expect(report.checked.anchors).toBe(bundle.anchors.length);
    const offline = await verifyBundle(bundle, pinned);
    expect(offline).toMatchObject({ ok: true, anchorsCheckedOnChain: false });
    expect(offline.unverified.join('\n')).toContain('not looked up on chain');

    const otherChain = {
      ...bundle,
      anchors: bundle.anchors.map((a, i) => (i === 0 ? { ...a, chain_id: a.chain_id + 1 } : a)),
    };
    expect((await verifyBundle(otherChain, { ...pinned, rpcUrl })).failures).toEqual([
      expect.objectContaining({
        check: 'anchor',
        message: expect.stringMatching(/is not the endpoint's chain/),
      }),
    ]);

    const eu = await ledger.reader.anchors('eu');
    const forged = {
      ...bundle,
      anchors: bundle.anchors.map((a, i) => (i === 0 ? { ...a, tx_hash: eu[0]!.tx_hash } : a)),
    };
    const bad = await verifyBundle(forged, { ...pinned, rpcUrl });
    expect(bad.failures).toEqual([
      expect.objectContaining({ check: 'anchor', anchor: eu[0]!.tx_hash, size: bundle.anchors[0]!.size }),
    ]);
    const wrongBlock = {
      ...bundle,
      anchors: bundle.anchors.map((a, i) => (i === 0 ? { ...a, block_number: a.block_number + 100 } : a)),
    };
    expect((await verifyBundle(wrongBlock, { ...pinned, rpcUrl })).failures.map((f) => f.check)).toEqual([
      'anchor',
    ]);
  });
});

describe('without an RPC endpoint', () => {
  it('claims no anchors', async () => {
    const plain = await createLedger({
      db: tdb.db as unknown as Kysely<LedgerTables>,
      logs: [{ region: 'none', origin: 'arbiter.example/none' }],
      keys: TEST_KEYS,
    });
    await plain.append('none', { type: 'decision' });
    await plain.integrate('none');
    expect(await plain.reader.anchors('none')).toEqual([]);
    expect((await plain.reader.bundle('none', 0, 1)).anchors).toEqual([]);
    await expect(plain.anchor('none')).rejects.toThrow(TypeError);
    await plain.stop();
  });
});
