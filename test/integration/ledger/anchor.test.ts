import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { JsonRpcProvider, Wallet, getBytes } from 'ethers';
import type { Kysely } from 'kysely';
import { createServer as createHttpServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createLedger,
  encodeAnchorData,
  verifyBundle,
  type AnchorOptions,
  type AnchorStatus,
  type AuditBundle,
  type Ledger,
  type LedgerOptions,
  type LedgerTables,
} from '../../../ledger/index.ts';
import { ANVIL_CHAIN_ID, ANVIL_KEY, fundedKey, rpc, startAnvil } from '../../support/anvil.ts';
import { freePort } from '../../support/cli.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';
import { TEST_KEYS, waitFor } from './ledger-harness.ts';

// Anchoring against a real EVM node: anvil from @foundry-rs/anvil on a free loopback port.

let anvil: ChildProcess;
let rpcUrl: string;
let tdb: TestDatabase;
let ledger: Ledger;

beforeAll(async () => {
  ({ node: anvil, url: rpcUrl } = await startAnvil());
  tdb = await openTestDatabase();
  ledger = await createLedger({
    db: tdb.db as unknown as Kysely<LedgerTables>,
    logs: [
      { region: 'eu', origin: 'arbiter.example/eu' },
      { region: 'us', origin: 'arbiter.example/us' },
    ],
    keys: TEST_KEYS,
    checkpointIntervalMs: 50,
    anchor: { rpcUrl, chainId: ANVIL_CHAIN_ID, privateKey: ANVIL_KEY, everyN: 2 },
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
    // The report names the chain it checked, and how deep each anchor is.
    expect(report).toMatchObject({ chainId: ANVIL_CHAIN_ID, chainIdFrom: 'endpoint' });
    expect(report.unverified.join('\n')).toContain('anchors[].chain_id (not pinned');
    const head = Number(await rpc(rpcUrl, 'eth_blockNumber'));
    expect(report.anchors).toEqual(
      bundle.anchors.map((a) => ({
        size: a.size,
        txHash: a.tx_hash,
        chainId: ANVIL_CHAIN_ID,
        blockNumber: a.block_number,
        confirmations: head - a.block_number + 1,
        ok: true,
      })),
    );
    const offline = await verifyBundle(bundle, pinned);
    expect(offline).toMatchObject({
      ok: true,
      anchorsCheckedOnChain: false,
      chainId: null,
      chainIdFrom: null,
    });
    expect(offline.anchors.map((a) => a.confirmations)).toEqual(bundle.anchors.map(() => null));
    expect(offline.unverified.join('\n')).toContain('not looked up on chain');

    // Pinned to the chain the anchors are on, and deep enough.
    const pinnedChain = await verifyBundle(bundle, {
      ...pinned,
      rpcUrl,
      trustedChainId: ANVIL_CHAIN_ID,
      minConfirmations: 1,
    });
    expect(pinnedChain.failures).toEqual([]);
    expect(pinnedChain.unverified.join('\n')).not.toContain('anchors[].chain_id');
    // Another chain: anchors that say so fail offline; an endpoint on another chain fails them all.
    expect(
      (await verifyBundle(bundle, { ...pinned, trustedChainId: 1 })).failures.map((f) => f.message),
    ).toEqual(bundle.anchors.map(() => `on chain ${ANVIL_CHAIN_ID}, not the trusted chain 1`));
    const sepolia = { ...bundle, anchors: bundle.anchors.map((a) => ({ ...a, chain_id: 11155111 })) };
    expect(
      (await verifyBundle(sepolia, { ...pinned, rpcUrl, trustedChainId: 11155111 })).failures.map(
        (f) => f.message,
      ),
    ).toEqual(
      bundle.anchors.map(
        () => `the RPC endpoint is on chain ${ANVIL_CHAIN_ID}, not the trusted chain 11155111`,
      ),
    );
    // Not deep enough.
    const shallow = await verifyBundle(bundle, { ...pinned, rpcUrl, minConfirmations: 1_000 });
    expect(shallow.failures).toEqual(
      bundle.anchors.map((a) =>
        expect.objectContaining({
          check: 'anchor',
          anchor: a.tx_hash,
          message: expect.stringMatching(/^\d+ confirmations?, fewer than the 1000 required$/),
        }),
      ),
    );
    expect(shallow.anchors.every((a) => a.ok === false && a.confirmations! >= 1)).toBe(true);
    await expect(verifyBundle(bundle, { ...pinned, minConfirmations: 1 })).rejects.toThrow(
      'minConfirmations needs rpcUrl',
    );

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
    // An endpoint that accepts connections and never answers: each anchor fails once rpcTimeoutMs has passed,
    // rather than after ethers' five minutes per request.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    const started = Date.now();
    const unanswered = await verifyBundle(bundle, { ...pinned, rpcUrl: silentUrl, rpcTimeoutMs: 1_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(unanswered.ok).toBe(false);
    expect(unanswered.failures.map((f) => f.check)).toEqual(bundle.anchors.map(() => 'anchor'));
    silent.close();
    // An endpoint refusing the auditor's key: the report says so, without the key in its URL.
    const refusing = createHttpServer((_, res) => res.writeHead(401).end());
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const refusingUrl = `http://127.0.0.1:${(refusing.address() as { port: number }).port}/v3/AUDITOR-KEY`;
    const refused = await verifyBundle(bundle, { ...pinned, rpcUrl: refusingUrl });
    refusing.close();
    expect(refused.failures.map((f) => f.message)).toEqual(
      bundle.anchors.map(() => 'SERVER_ERROR: server response 401 Unauthorized'),
    );

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

const ledgerOn = (
  region: string,
  anchor: Omit<AnchorOptions, 'everyN' | 'chainId'> & { chainId?: number; everyN?: number },
  options: Pick<LedgerOptions, 'checkpointIntervalMs' | 'onError'> = {},
) =>
  createLedger({
    db: tdb.db as unknown as Kysely<LedgerTables>,
    logs: [{ region, origin: `arbiter.example/${region}` }],
    keys: TEST_KEYS,
    anchor: { everyN: 1, chainId: ANVIL_CHAIN_ID, ...anchor },
    ...options,
  });

/** The account's transactions in the node's mempool, by nonce. */
async function mempool(url: string, privateKey: string) {
  const sender = new Wallet(privateKey).address.toLowerCase();
  const pool = (await rpc(url, 'txpool_content')) as {
    pending: Record<
      string,
      Record<string, { hash: string; maxFeePerGas: string; maxPriorityFeePerGas: string; input: string }>
    >;
  };
  const mine = Object.entries(pool.pending).find(([from]) => from.toLowerCase() === sender);
  return new Map(Object.entries(mine?.[1] ?? {}).map(([nonce, tx]) => [Number(nonce), tx]));
}

/** Transactions of the account that are mined. */
const minedCount = async (url: string, privateKey: string) =>
  Number(await rpc(url, 'eth_getTransactionCount', [new Wallet(privateKey).address, 'latest']));

describe('a node that mines only on demand', () => {
  let stalled: { node: ChildProcess; url: string };
  beforeAll(async () => {
    stalled = await startAnvil(['--no-mining']);
  }, 60_000);
  afterAll(() => {
    stalled?.node.kill();
  });

  it('records an anchor only once it has the configured number of confirmations', async () => {
    const privateKey = await fundedKey(stalled.url);
    const confirming = await ledgerOn('sg', {
      rpcUrl: stalled.url,
      privateKey,
      confirmations: 2,
      timeoutMs: 20_000,
    });
    await confirming.append('sg', { type: 'decision' });
    const head = await confirming.integrate('sg');
    const anchoring = confirming.anchor('sg');
    await waitFor(async () => ((await mempool(stalled.url, privateKey)).size > 0 ? true : undefined), 'a tx');
    await rpc(stalled.url, 'evm_mine');
    const minedIn = Number(await rpc(stalled.url, 'eth_blockNumber'));
    // One block holds it: not yet confirmed twice, so nothing is recorded.
    const early = await Promise.race([
      anchoring.then(() => 'recorded'),
      new Promise((r) => setTimeout(() => r('waiting'), 1_000)),
    ]);
    expect(early).toBe('waiting');
    expect(await confirming.reader.anchors('sg')).toEqual([]);
    await rpc(stalled.url, 'evm_mine');
    expect(await anchoring).toMatchObject({ size: head.size, root: head.root, block_number: minedIn });
    expect(await confirming.reader.anchors('sg')).toHaveLength(1);
    await confirming.stop();
  });

  it('fails an anchor not mined in time, yet keeps its one transaction as it was, and records it once mined', async () => {
    const privateKey = await fundedKey(stalled.url);
    const failures: unknown[] = [];
    const waiting = await ledgerOn(
      'ca',
      { rpcUrl: stalled.url, privateKey, timeoutMs: 1_000 },
      { checkpointIntervalMs: 50, onError: (err) => failures.push(err) },
    );
    await waiting.append('ca', { type: 'decision', n: 0 });
    const first = await waiting.integrate('ca');
    await expect(waiting.anchor('ca')).rejects.toMatchObject({
      code: 'LEDGER_ANCHOR_FAILED',
      message: expect.stringMatching(/not mined within 1000 ms; it offers .* gwei per gas/),
    });
    const sent = await mempool(stalled.url, privateKey);
    expect(sent.size).toBe(1);
    // A newer checkpoint gets no transaction of its own while the log's one is outstanding.
    await waiting.append('ca', { type: 'decision', n: 1 });
    await waiting.integrate('ca');
    waiting.start();
    await new Promise((r) => setTimeout(r, 2_500));
    // No block came, so nothing outbid it: the same transaction at the same fees, however long it waits.
    expect(await mempool(stalled.url, privateKey)).toEqual(sent);
    expect(failures).toContainEqual(
      expect.objectContaining({ code: 'LEDGER_ANCHOR_FAILED', message: expect.stringContaining('in a row') }),
    );
    // Mined after its time ran out: it is still recorded, and only then is the next checkpoint anchored.
    await rpc(stalled.url, 'evm_mine');
    await waitFor(async () => ((await waiting.reader.anchors('ca')).length > 0 ? true : undefined), 'anchor');
    expect(await waiting.reader.anchors('ca')).toEqual([
      expect.objectContaining({ size: first.size, root: first.root }),
    ]);
    await waitFor(async () => ((await mempool(stalled.url, privateKey)).size > 0 ? true : undefined), 'next');
    await rpc(stalled.url, 'evm_mine');
    await waitFor(async () => ((await waiting.reader.anchors('ca')).length > 1 ? true : undefined), 'anchor');
    expect((await waiting.reader.anchors('ca')).map((a) => a.size)).toEqual([first.size, 2]);
    expect(await minedCount(stalled.url, privateKey)).toBe(2);
    await waiting.stop();
  });

  /** Sets the latest block's base fee to `baseFee` (so fee suggestions follow it), mining the pending. */
  const mineWithBaseFee = async (baseFee: bigint) => {
    await rpc(stalled.url, 'anvil_setNextBlockBaseFeePerGas', [`0x${baseFee.toString(16)}`]);
    await rpc(stalled.url, 'evm_mine');
  };
  /** Mines a block that holds none of the pending transactions (its gas limit is below theirs). */
  const mineWithout = async (baseFee: bigint) => {
    await rpc(stalled.url, 'anvil_setBlockGasLimit', ['0x5208']);
    await mineWithBaseFee(baseFee);
    await rpc(stalled.url, 'anvil_setBlockGasLimit', ['0x1c9c380']);
  };
  const GWEI = 1_000_000_000n;

  it('replaces its unmined transaction once a new block outbids it, same checkpoint, once per block', async () => {
    await mineWithBaseFee(GWEI);
    const privateKey = await fundedKey(stalled.url);
    const replacing = await ledgerOn('jp', { rpcUrl: stalled.url, privateKey, timeoutMs: 20_000 });
    await replacing.append('jp', { type: 'decision', n: 0 });
    const head = await replacing.integrate('jp');
    const anchoring = replacing.anchor('jp');
    const stuck = await waitFor(async () => {
      const pool = await mempool(stalled.url, privateKey);
      return pool.size > 0 ? pool : undefined;
    }, 'the anchor transaction');
    const [[nonce, first]] = [...stuck];
    // Suggestion: twice the latest base fee plus the tip (ethers), 2 × 1 + 1 gwei.
    expect(BigInt(first!.maxFeePerGas)).toBe(3n * GWEI);
    // A block it is not in, whose base fee makes the suggestion 2 × 2.5 + 1 = 6 gwei.
    await mineWithout((5n * GWEI) / 2n);
    const replacement = await waitFor(async () => {
      const tx = (await mempool(stalled.url, privateKey)).get(nonce!);
      return tx && tx.hash !== first!.hash ? tx : undefined;
    }, 'the replacement');
    expect([...(await mempool(stalled.url, privateKey)).keys()]).toEqual([nonce]);
    expect(BigInt(replacement.maxFeePerGas)).toBe(6n * GWEI);
    expect(BigInt(replacement.maxPriorityFeePerGas)).toBe((GWEI * 9n + 7n) / 8n);
    expect(getBytes(replacement.input)).toEqual(
      encodeAnchorData('arbiter.example/jp', head.size, Buffer.from(head.root, 'hex')),
    );
    // No new block, no second replacement.
    await new Promise((r) => setTimeout(r, 500));
    expect((await mempool(stalled.url, privateKey)).get(nonce!)?.hash).toBe(replacement.hash);
    await rpc(stalled.url, 'evm_mine');
    expect(await anchoring).toMatchObject({ size: head.size, tx_hash: replacement.hash });
    await replacing.stop();
  });

  it('never offers more than the maximum fee, and waits rather than outbid it', async () => {
    await mineWithBaseFee(GWEI);
    const privateKey = await fundedKey(stalled.url);
    const capped = await ledgerOn(
      'kr',
      { rpcUrl: stalled.url, privateKey, timeoutMs: 20_000, maxFeePerGas: 2n * GWEI },
      { checkpointIntervalMs: 50 },
    );
    await capped.append('kr', { type: 'decision' });
    await capped.integrate('kr');
    capped.start();
    const sent = await waitFor(async () => {
      const pool = await mempool(stalled.url, privateKey);
      return pool.size > 0 ? pool : undefined;
    }, 'the anchor transaction');
    const [[nonce, first]] = [...sent];
    // The network suggests 3 gwei: capped at 2, the tip (1 gwei) within it.
    expect(BigInt(first!.maxFeePerGas)).toBe(2n * GWEI);
    expect(BigInt(first!.maxPriorityFeePerGas)).toBe(GWEI);
    // Now it suggests 2 × 1.5 + 1 = 4 gwei, but a replacement would need 2.25, above the maximum.
    await mineWithout((3n * GWEI) / 2n);
    await new Promise((r) => setTimeout(r, 500));
    expect((await mempool(stalled.url, privateKey)).get(nonce!)).toEqual(first);
    await rpc(stalled.url, 'evm_mine');
    await waitFor(async () => ((await capped.reader.anchors('kr')).length > 0 ? true : undefined), 'anchor');
    await capped.stop();
  });

  it('refuses to anchor through an endpoint on another chain than the configured one', async () => {
    const privateKey = await fundedKey(stalled.url);
    const failures: unknown[] = [];
    const elsewhere = await ledgerOn(
      'mx',
      { rpcUrl: stalled.url, privateKey, chainId: 1 },
      { onError: (err) => failures.push(err) },
    );
    await elsewhere.append('mx', { type: 'decision' });
    await elsewhere.integrate('mx');
    await expect(elsewhere.anchor('mx')).rejects.toMatchObject({
      code: 'LEDGER_ANCHOR_FAILED',
      message: expect.stringContaining(
        `refusing to anchor: the JSON-RPC endpoint is on chain ${ANVIL_CHAIN_ID}, not the configured chain 1`,
      ),
    });
    expect(await mempool(stalled.url, privateKey)).toEqual(new Map());
    expect(await elsewhere.reader.anchors('mx')).toEqual([]);
    await elsewhere.stop();
  });

  it('fails an anchor when the node accepts connections but never answers', async () => {
    // ethers waits five minutes for each JSON-RPC answer by default: anchoring and stop() would hang as long.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const hung = await ledgerOn('silent', {
      rpcUrl: `http://127.0.0.1:${port}`,
      privateKey: ANVIL_KEY,
      timeoutMs: 1_000,
    });
    await hung.append('silent', { type: 'decision' });
    await hung.integrate('silent');
    const started = Date.now();
    await expect(hung.anchor('silent')).rejects.toMatchObject({ code: 'LEDGER_ANCHOR_FAILED' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await hung.reader.anchors('silent')).toEqual([]);
    await hung.stop();
    silent.close();
  }, 20_000);

  it('fails an anchor when the node is down, and records nothing', async () => {
    const port = await freePort();
    const down = await ledgerOn('uk', { rpcUrl: `http://127.0.0.1:${port}`, privateKey: ANVIL_KEY });
    await down.append('uk', { type: 'decision' });
    await down.integrate('uk');
    const err = (await down.anchor('uk').then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect(err).toMatchObject({ code: 'LEDGER_ANCHOR_FAILED' });
    expect(err.cause).toBeUndefined();
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.message).not.toContain(String(port));
    expect(await down.reader.anchors('uk')).toEqual([]);
    await down.stop();
  });
});

describe('a chain whose confirmations take longer than the timeout', () => {
  let chain: { node: ChildProcess; url: string };
  beforeAll(async () => {
    chain = await startAnvil(['--block-time', '1']);
  }, 60_000);
  afterAll(() => {
    chain?.node.kill();
  });

  it('records the one transaction it sent once it is confirmed, rather than sending more', async () => {
    // As on a chain of 12 s blocks with 12 confirmations and a two-minute timeout, scaled down.
    const privateKey = await fundedKey(chain.url);
    const statuses: AnchorStatus[] = [];
    const slow = await ledgerOn(
      'nz',
      {
        rpcUrl: chain.url,
        privateKey,
        confirmations: 4,
        timeoutMs: 1_000,
        observer: { anchorStatus: (s) => statuses.push(s) },
      },
      { checkpointIntervalMs: 50, onError: () => {} },
    );
    await slow.append('nz', { type: 'decision' });
    const head = await slow.integrate('nz');
    slow.start();
    const [anchor] = await waitFor(async () => {
      const list = await slow.reader.anchors('nz');
      return list.length > 0 ? list : undefined;
    }, 'the anchor');
    expect(anchor).toMatchObject({ size: head.size, root: head.root, status: 1 });
    const depth = Number(await rpc(chain.url, 'eth_blockNumber')) - anchor!.block_number + 1;
    expect(depth).toBeGreaterThanOrEqual(4);
    await slow.stop();
    expect(await minedCount(chain.url, privateKey)).toBe(1);
    expect(await slow.reader.anchors('nz')).toHaveLength(1);
    // While it was sent, mined and confirmed, two checkpoints (0 and 1) waited; then none.
    expect(statuses.some((st) => st.awaitingCheckpoints === 2 && st.lastAnchoredAt === null)).toBe(true);
    expect(statuses.at(-1)).toMatchObject({ region: 'nz', awaitingCheckpoints: 0 });
    expect(statuses.at(-1)!.lastAnchoredAt?.toISOString()).toBe(anchor!.created_at);
  });
});

describe('an endpoint that refuses every call (a revoked API key)', () => {
  it('logs each failure once per backoff step, naming neither its URL nor keeping the raw error', async () => {
    const refusing = createHttpServer((_, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"error":"invalid project id"}');
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const { port } = refusing.address() as { port: number };
    const rpcUrl = `http://127.0.0.1:${port}/v3/SECRET-PROJECT-KEY-1234`;
    const printed = vi.spyOn(console, 'log');
    const failures: Error[] = [];
    const statuses: AnchorStatus[] = [];
    const revoked = await ledgerOn(
      'revoked',
      { rpcUrl, privateKey: ANVIL_KEY, observer: { anchorStatus: (s) => statuses.push(s) } },
      { checkpointIntervalMs: 50, onError: (err) => failures.push(err as Error) },
    );
    try {
      await revoked.append('revoked', { type: 'decision' });
      await revoked.integrate('revoked');
      revoked.start();
      // About 70 ticks; attempts only at 0, 1 and 3 s (backing off 1 s, then 2, then 4).
      await new Promise((r) => setTimeout(r, 3_500));
      await revoked.stop();
    } finally {
      printed.mockRestore();
      refusing.close();
    }
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(failures.length).toBeLessThanOrEqual(3);
    failures.forEach((err, i) => {
      expect(err).toMatchObject({ code: 'LEDGER_ANCHOR_FAILED' });
      expect(err.cause).toBeUndefined();
      expect(err.message).toContain('SERVER_ERROR: server response 401 Unauthorized');
      expect(err.message).toContain(
        `(${i + 1} failure${i === 0 ? '' : 's'} in a row; next attempt in ${2 ** i} s)`,
      );
      for (const secret of ['SECRET-PROJECT-KEY-1234', String(port), 'http://'])
        expect(err.message).not.toContain(secret);
      expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain('SECRET');
    });
    // The observer saw each failure, and the checkpoints (0 and 1) still waiting, while it backed off too.
    const counts = [...new Set(statuses.map((st) => st.consecutiveFailures))];
    expect(counts).toEqual(failures.map((_, i) => i + 1));
    expect(statuses.length).toBeGreaterThan(failures.length);
    expect(statuses.at(-1)).toEqual({
      region: 'revoked',
      lastAnchoredAt: null,
      consecutiveFailures: failures.length,
      awaitingCheckpoints: 2,
    });
    // ethers' own "failed to detect network", printed every second, is gone with the static network.
    expect(printed).not.toHaveBeenCalled();
  }, 20_000);
});
