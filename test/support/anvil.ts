import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Wallet } from 'ethers';
import { freePort } from './cli.ts';

// A real EVM node for anchoring tests: anvil from @foundry-rs/anvil on a free loopback port.

/** Account #0 of anvil's well-known test mnemonic (test-only key). */
export const ANVIL_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
/** anvil's chain id unless told otherwise. */
export const ANVIL_CHAIN_ID = 31337;

/** JSON-RPC call to a node, without ethers (test control methods such as evm_mine). */
export async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return ((await response.json()) as { result: unknown }).result;
}

/** Starts anvil on a free loopback port with `args`; resolves once it answers. */
export async function startAnvil(args: readonly string[] = []): Promise<{ node: ChildProcess; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const node = spawn(
    path.resolve('node_modules/.bin/anvil'),
    ['--host', '127.0.0.1', '--port', String(port), '--silent', ...args],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 20_000;
  for (;;) {
    if ((await rpc(url, 'eth_chainId').catch(() => undefined)) !== undefined) return { node, url };
    if (Date.now() > deadline) {
      node.kill();
      throw new Error('anvil did not answer within 20 s');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A new account with 100 ETH on the node, so that no test queues behind another's transactions. */
export async function fundedKey(url: string): Promise<string> {
  const wallet = Wallet.createRandom();
  await rpc(url, 'anvil_setBalance', [wallet.address, '0x56bc75e2d63100000']);
  return wallet.privateKey;
}
