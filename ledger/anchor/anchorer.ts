import { FetchRequest, JsonRpcProvider, Wallet, hexlify } from 'ethers';
import { LedgerError } from '../errors.ts';
import { encodeAnchorData } from './anchor-data.ts';

export interface AnchorOptions {
  readonly rpcUrl: string;
  /** Funded account that sends the anchor transactions (0x hex). */
  readonly privateKey: string;
  /** Anchor every Nth checkpoint (1 = every checkpoint). */
  readonly everyN: number;
  /**
   * Blocks that must hold the transaction (its own included) before the anchor is recorded: an anchor row is
   * never deleted, so on a chain that reorganises, wait until a reorg can no longer drop it. Default 1.
   */
  readonly confirmations?: number;
  /**
   * Longest wait for each JSON-RPC answer and for those confirmations; past it the anchor fails with
   * LEDGER_ANCHOR_FAILED and a later tick anchors again. Default 120,000 ms.
   */
  readonly timeoutMs?: number;
}

export const DEFAULT_ANCHOR_CONFIRMATIONS = 1;
export const DEFAULT_ANCHOR_TIMEOUT_MS = 120_000;

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
  private readonly confirmations: number;
  private readonly timeoutMs: number;

  constructor(readonly options: AnchorOptions) {
    this.confirmations = options.confirmations ?? DEFAULT_ANCHOR_CONFIRMATIONS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_ANCHOR_TIMEOUT_MS;
    for (const [name, value] of [
      ['everyN', options.everyN],
      ['confirmations', this.confirmations],
      ['timeoutMs', this.timeoutMs],
    ] as const)
      if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`anchor.${name} must be >= 1`);
    // ethers otherwise waits five minutes for each answer: a node that accepts connections and never answers
    // would hold this and every later anchor, and Ledger.stop(), that long per request.
    const request = new FetchRequest(options.rpcUrl);
    request.timeout = this.timeoutMs;
    // cacheTimeout -1: ethers otherwise answers a repeated eth_getTransactionCount from a 250 ms cache, and a
    // second anchor sent within that window reuses the previous nonce ("nonce too low").
    this.provider = new JsonRpcProvider(request, undefined, {
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
      // Without a timeout ethers waits forever for a transaction the node dropped or never mines, and since
      // anchors are sent one at a time, that would stall every later anchor and Ledger.stop() with it.
      const receipt = await tx.wait(this.confirmations, this.timeoutMs);
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
