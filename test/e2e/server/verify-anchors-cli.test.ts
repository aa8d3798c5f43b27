import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Wallet } from 'ethers';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, type AuditBundle, type LedgerTables } from '../../../ledger/index.ts';
import { ANVIL_CHAIN_ID, ANVIL_KEY, rpc, startAnvil } from '../../support/anvil.ts';
import { freePort, verifyBundleFile } from '../../support/cli.ts';
import { openTestDatabase, type TestDatabase } from '../../support/database.ts';

// `arbiter verify` of a bundle with anchors, on a real chain (anvil): the chain it is pinned to, and how deep
// each anchor must be.
describe('arbiter verify --rpc --chain-id --min-confirmations', () => {
  let anvil: { node: ChildProcess; url: string };
  let tdb: TestDatabase;
  let dir: string;
  let bundle: AuditBundle;
  let keys: { ed25519_vkey: string; eip191_address: string };
  let anchoredIn: number;
  const anchorAddress = new Wallet(ANVIL_KEY).address;

  beforeAll(async () => {
    anvil = await startAnvil();
    tdb = await openTestDatabase();
    dir = await mkdtemp(path.join(os.tmpdir(), 'arbiter-verify-anchors-'));
    const ledger = await createLedger({
      db: tdb.db as unknown as Kysely<LedgerTables>,
      logs: [{ region: 'eu', origin: 'arbiter.example/eu' }],
      keys: {
        ed25519Seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
        secp256k1PrivateKey: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
      },
      anchor: { rpcUrl: anvil.url, chainId: ANVIL_CHAIN_ID, privateKey: ANVIL_KEY, everyN: 1 },
    });
    await ledger.append('eu', { type: 'attestation', statement: 'anchored' });
    const head = await ledger.integrate('eu');
    anchoredIn = (await ledger.anchor('eu'))!.block_number;
    // Two more blocks on top: the anchor is three deep.
    await rpc(anvil.url, 'evm_mine');
    await rpc(anvil.url, 'evm_mine');
    bundle = await ledger.reader.bundle('eu', 0, head.size);
    keys = await ledger.reader.keys('eu');
    await ledger.stop();
  }, 60_000);
  afterAll(async () => {
    await tdb?.close();
    anvil?.node.kill();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const verify = (options: string[]) =>
    verifyBundleFile(bundle, path.join(dir, 'bundle.json'), keys, [
      '--trusted-anchor-address',
      anchorAddress,
      ...options,
    ]);

  it('names the chain and each anchor’s depth, and passes when both hold', async () => {
    const { code, stdout } = await verify([
      '--rpc',
      anvil.url,
      '--chain-id',
      String(ANVIL_CHAIN_ID),
      '--min-confirmations',
      '3',
    ]);
    expect(stdout).toContain(
      `anchors' chain: ${ANVIL_CHAIN_ID} (the RPC endpoint's, as --chain-id requires)`,
    );
    expect(stdout).toContain(
      `anchor ${bundle.anchors[0]!.tx_hash} (checkpoint size ${bundle.anchors[0]!.size}, chain ${ANVIL_CHAIN_ID}, ` +
        `block ${anchoredIn}): 3 confirmations`,
    );
    expect(stdout).toContain('OK: every check holds');
    expect(code).toBe(0);
  }, 60_000);

  it('fails an anchor less deep than asked, and says so in --json', async () => {
    const { code, stdout } = await verify(['--rpc', anvil.url, '--min-confirmations', '4', '--json']);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({
      ok: false,
      chainId: ANVIL_CHAIN_ID,
      chainIdFrom: 'endpoint',
      anchors: [
        {
          txHash: bundle.anchors[0]!.tx_hash,
          chainId: ANVIL_CHAIN_ID,
          blockNumber: anchoredIn,
          confirmations: 3,
          ok: false,
        },
      ],
      failures: [
        {
          check: 'anchor',
          anchor: bundle.anchors[0]!.tx_hash,
          message: '3 confirmations, fewer than the 4 required',
        },
      ],
    });
    expect(code).toBe(1);
  }, 60_000);

  it('fails anchors on another chain than the pinned one, naming the chain the endpoint is on', async () => {
    const { code, stdout } = await verify(['--rpc', anvil.url, '--chain-id', '1']);
    expect(stdout).toContain(
      `anchors' chain: ${ANVIL_CHAIN_ID} (the RPC endpoint's, as --chain-id requires)`,
    );
    expect(stdout).toContain(`: on chain ${ANVIL_CHAIN_ID}, not the trusted chain 1`);
    expect(code).toBe(1);
    const offline = await verify(['--chain-id', '1']);
    expect(offline.stdout).toContain(`anchors' chain: 1 (from --chain-id; not looked up: no --rpc)`);
    expect(offline.code).toBe(1);
  }, 60_000);

  it('prints one JSON document when the endpoint cannot be reached', async () => {
    const { code, stdout } = await verify(['--rpc', `http://127.0.0.1:${await freePort()}`, '--json']);
    expect(JSON.parse(stdout)).toMatchObject({
      ok: false,
      chainId: null,
      chainIdFrom: null,
      anchors: [{ confirmations: null, ok: false }],
    });
    expect(code).toBe(1);
  }, 60_000);

  it('exits 2 on a malformed --chain-id or --min-confirmations, or confirmations without --rpc', async () => {
    for (const [options, problem] of [
      [['--chain-id', '0'], '--chain-id is not a positive integer: "0"'],
      [['--chain-id', 'sepolia'], '--chain-id is not a positive integer: "sepolia"'],
      [['--rpc', anvil.url, '--min-confirmations', '-1'], '--min-confirmations is not a positive integer'],
      [['--min-confirmations', '12'], '--min-confirmations needs --rpc'],
    ] as const) {
      const { code, stdout, stderr } = await verify([...options]);
      expect(stderr, options.join(' ')).toContain(problem);
      expect(stdout).toBe('');
      expect(code).toBe(2);
    }
  }, 120_000);
});
