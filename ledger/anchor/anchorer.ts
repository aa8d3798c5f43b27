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

/** The fees a transaction offered: EIP-1559's pair, or a legacy gas price on a chain without base fees. */
type Fees =
  | { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint; gasPrice?: undefined }
  | { gasPrice: bigint; maxFeePerGas?: undefined; maxPriorityFeePerGas?: undefined };

/**
 * A replacement must offer at least 10% more on every fee (geth's default price bump; other clients ask no
 * more): 12.5% clears it with rounding to spare.
 */
const bumped = (fee: bigint) => (fee * 9n + 7n) / 8n;
const atLeast = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * Sends anchor transactions one at a time (one account, so nonces must not race) and waits for the receipt:
 * an anchor is only recorded once it is in a block.
 *
 * An anchor whose transaction was not mined in time (fees below what the chain now asks) leaves it in the
 * mempool, and every later transaction of the account would queue behind it. So the next anchor replaces
 * it: same nonce, the newer checkpoint, fees at least 12.5% higher. This process remembers what it sent; a
 * transaction left pending by an earlier process is not replaced, and anchors wait behind it until it is
 * mined. The account must send nothing but anchors: its pending transactions are taken for ours.
 */
export class Anchorer {
  private readonly provider: JsonRpcProvider;
  private readonly wallet: Wallet;
  private chain: Promise<unknown> = Promise.resolve();
  /** The last anchor transaction this process sent, until it is known to be mined. */
  private unmined: { nonce: number; fees: Fees } | undefined;
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

  /** The nonce and fees of the next anchor: a replacement of our unmined one, or the account's next. */
  private async nextTransaction(): Promise<{ nonce: number; fees: Fees }> {
    const [mined, feeData] = await Promise.all([this.wallet.getNonce('latest'), this.provider.getFeeData()]);
    const { maxFeePerGas, maxPriorityFeePerGas, gasPrice } = feeData;
    const current: Fees =
      maxFeePerGas !== null && maxPriorityFeePerGas !== null
        ? { maxFeePerGas, maxPriorityFeePerGas }
        : { gasPrice: gasPrice ?? 0n };
    const previous = this.unmined;
    if (!previous || previous.nonce < mined)
      return { nonce: await this.wallet.getNonce('pending'), fees: current };
    const old = previous.fees;
    const fees: Fees =
      old.gasPrice !== undefined
        ? { gasPrice: atLeast(current.gasPrice ?? current.maxFeePerGas!, bumped(old.gasPrice)) }
        : {
            maxFeePerGas: atLeast(current.maxFeePerGas ?? current.gasPrice!, bumped(old.maxFeePerGas)),
            maxPriorityFeePerGas: atLeast(
              current.maxPriorityFeePerGas ?? current.gasPrice!,
              bumped(old.maxPriorityFeePerGas),
            ),
          };
    return { nonce: previous.nonce, fees };
  }

  private async send(origin: string, size: number, root: Uint8Array): Promise<SentAnchor> {
    try {
      const { nonce, fees } = await this.nextTransaction();
      const tx = await this.wallet.sendTransaction({
        to: this.wallet.address,
        value: 0n,
        data: hexlify(encodeAnchorData(origin, size, root)),
        nonce,
        ...fees,
      });
      this.unmined = { nonce, fees };
      // Without a timeout ethers waits forever for a transaction the node dropped or never mines, and since
      // anchors are sent one at a time, that would stall every later anchor and Ledger.stop() with it.
      const receipt = await tx.wait(this.confirmations, this.timeoutMs);
      if (!receipt) throw new Error('no receipt');
      this.unmined = undefined;
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
