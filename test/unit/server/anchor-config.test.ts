import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../server/config.ts';
import { ServerError } from '../../../server/errors.ts';

// The anchoring settings of server/config.ts: what the ledger's anchorer is given.
const account = {
  ARBITER_ANCHOR_RPC_URL: 'http://127.0.0.1:8545',
  ARBITER_ANCHOR_PRIVATE_KEY: `0x${'11'.repeat(32)}`,
  ARBITER_ANCHOR_CHAIN_ID: '11155111',
};

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ServerError);
    return (err as ServerError).message;
  }
  throw new Error('expected a configuration error');
}

describe('ARBITER_ANCHOR_MAX_FEE_GWEI', () => {
  it('caps anchor fees at 200 gwei unless told otherwise', () => {
    expect(loadConfig(account).ledger.anchor?.maxFeePerGas).toBe(200_000_000_000n);
  });

  it('takes gwei with up to 9 decimals, as wei', () => {
    expect(loadConfig({ ...account, ARBITER_ANCHOR_MAX_FEE_GWEI: '0.05' }).ledger.anchor?.maxFeePerGas).toBe(
      50_000_000n,
    );
    expect(
      loadConfig({ ...account, ARBITER_ANCHOR_MAX_FEE_GWEI: '0.000000001' }).ledger.anchor?.maxFeePerGas,
    ).toBe(1n);
    expect(
      loadConfig({ ...account, ARBITER_ANCHOR_MAX_FEE_GWEI: '1000000' }).ledger.anchor?.maxFeePerGas,
    ).toBe(1_000_000n * 10n ** 9n);
  });

  it.each([
    ['0', 'out of range'],
    ['1000000.5', 'out of range'],
    ['-1', 'not a number of gwei'],
    ['1e3', 'not a number of gwei'],
    ['0.0000000001', 'not a number of gwei'],
    ['200gwei', 'not a number of gwei'],
  ])('refuses %s', (value, problem) => {
    expect(configError({ ...account, ARBITER_ANCHOR_MAX_FEE_GWEI: value })).toContain(
      `ARBITER_ANCHOR_MAX_FEE_GWEI=${JSON.stringify(value)}: ${problem}`,
    );
  });
});

describe('ARBITER_ANCHOR_CHAIN_ID', () => {
  it('pins the chain the anchors must be on', () => {
    expect(loadConfig(account).ledger.anchor?.chainId).toBe(11155111);
  });

  it('is required with an RPC endpoint, and names what it is for', () => {
    const { ARBITER_ANCHOR_CHAIN_ID: _, ...unpinned } = account;
    const message = configError(unpinned);
    expect(message).toContain('ARBITER_ANCHOR_CHAIN_ID must be set with ARBITER_ANCHOR_RPC_URL');
    expect(message).not.toContain(account.ARBITER_ANCHOR_RPC_URL);
  });

  it.each(['0', '-1', 'sepolia', '9007199254740992'])('refuses %s', (value) => {
    expect(configError({ ...account, ARBITER_ANCHOR_CHAIN_ID: value })).toContain(
      `ARBITER_ANCHOR_CHAIN_ID=${JSON.stringify(value)}`,
    );
  });

  it('means nothing without anchoring', () => {
    expect(loadConfig({ ARBITER_ANCHOR_CHAIN_ID: '1' }).ledger.anchor).toBeUndefined();
  });
});
