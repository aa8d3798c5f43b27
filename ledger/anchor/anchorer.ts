import { JsonRpcProvider, Wallet, hexlify } from 'ethers';
import { LedgerError } from '../errors.ts';
import { encodeAnchorData } from './anchor-data.ts';

export interface AnchorOptions {
  readonly rpcUrl: string;
  /** Funded account that sends the anchor transactions (0x hex). */
  readonly privateKey: string;
  /** Anchor every Nth checkpoint (1 = every checkpoint). */
  readonly everyN: number;
}

export interface SentAnchor {
  readonly chainId: number;
  readonly txHash: string;
  readonly blockNumber: number;
  readonly status: number;
  readonly from: string;
}

/**
 * Sends anchor transactions one at a time (one account, so nonces must not race) and waits for the receipt:
 * an anchor is only recorded once it is in a block.
 */
export class Anchorer {
  private readonly provider: JsonRpcProvider;
  private readonly wallet: Wallet;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly options: AnchorOptions) {
    if (!Number.isSafeInteger(options.everyN) || options.everyN < 1)
      throw new TypeError('anchor.everyN must be >= 1');
    // cacheTimeout -1: ethers otherwise answers a repeated eth_getTransactionCount from a 250 ms cache, and a
    // second anchor sent within that window reuses the previous nonce ("nonce too low").
    this.provider = new JsonRpcProvider(options.rpcUrl, undefined, {
      staticNetwork: true,
      cacheTimeout: -1,
      pollingInterval: 100,
    });
    this.wallet = new Wallet(options.privateKey, this.provider);
  }

  anchor(origin: string, size: number, root: Uint8Array): Promise<SentAnchor> {
    const run = this.chain.then(() => this.send(origin, size, root));
    this.chain = run.catch(() => undefined);
    return run;
  }

  destroy(): void {
    this.provider.destroy();
  }

  private async send(origin: string, size: number, root: Uint8Array): Promise<SentAnchor> {
    try {
      const tx = await this.wallet.sendTransaction({
        to: this.wallet.address,
        value: 0n,
        data: hexlify(encodeAnchorData(origin, size, root)),
      });
      const receipt = await tx.wait();
      if (!receipt) throw new Error('no receipt');
      return {
        chainId: Number(tx.chainId),
        txHash: receipt.hash,
        blockNumber: receipt.blockNumber,
        status: receipt.status ?? 0,
        from: receipt.from,
      };
    } catch (err) {
      throw new LedgerError(
        'LEDGER_ANCHOR_FAILED',
        `anchoring ${origin} at ${size} failed: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
}
