import {
  FetchRequest,
  JsonRpcProvider,
  Network,
  Transaction,
  Wallet,
  formatUnits,
  hexlify,
  type TransactionReceipt,
} from 'ethers';
import { LedgerError } from '../errors.ts';
import { encodeAnchorData } from './anchor-data.ts';
import { describeRpcError } from './rpc-error.ts';
import type { AnchorObserver } from './status.ts';

export interface AnchorOptions {
  readonly rpcUrl: string;
  /**
   * The chain the anchors must be on (EIP-155 chain id): transactions are signed for it, and nothing is sent
   * or recorded while the endpoint answers eth_chainId with another.
   */
  readonly chainId: number;
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
   * Longest wait for each JSON-RPC answer, and for an anchor transaction to be mined: each time it passes with
   * the transaction still unmined, the anchor fails with LEDGER_ANCHOR_FAILED (the transaction is still waited
   * for). Waiting for confirmations once it is mined has no limit. Default 120,000 ms.
   */
  readonly timeoutMs?: number;
  /**
   * Most an anchor transaction may offer per gas, in wei: its max fee (or legacy gas price), and so its
   * priority fee too, never exceed it, whatever the network asks. Default 200 gwei.
   */
  readonly maxFeePerGas?: bigint;
  /** Told each log's anchoring status after every step (for metrics); see AnchorStatus. */
  readonly observer?: AnchorObserver;
}

export const DEFAULT_ANCHOR_CONFIRMATIONS = 1;
export const DEFAULT_ANCHOR_TIMEOUT_MS = 120_000;
export const DEFAULT_ANCHOR_MAX_FEE_PER_GAS = 200_000_000_000n; // 200 gwei

/** A checkpoint to anchor. */
export interface AnchorTarget {
  readonly size: number;
  readonly root: Uint8Array;
}

/** An anchor transaction with the confirmations asked for, and the checkpoint it commits to. */
export interface ConfirmedAnchor extends AnchorTarget {
  readonly chainId: number;
  readonly txHash: string;
  readonly blockNumber: number;
  readonly status: number;
  readonly from: string;
}

/** What one step did for a log. */
export type AnchorProgress =
  /** Nothing was outstanding and no checkpoint is due. */
  | { readonly state: 'idle' }
  /** A transaction for `size` was sent, or is waiting to be mined. */
  | { readonly state: 'pending'; readonly size: number; readonly txHash: string }
  /** The transaction is mined `depth` blocks deep, fewer than the confirmations asked for. */
  | { readonly state: 'confirming'; readonly size: number; readonly txHash: string; readonly depth: number }
  /** The transaction has its confirmations and was recorded. */
  | { readonly state: 'recorded'; readonly anchor: ConfirmedAnchor };

/** What a log's step asks of its caller. */
export interface AnchorLogHooks {
  /** The checkpoint to anchor now, if one is due: asked only when the log has no transaction outstanding. */
  next(): Promise<AnchorTarget | undefined>;
  /** Records an anchor; the transaction is forgotten only once this resolves, so a failed write is retried. */
  record(anchor: ConfirmedAnchor): Promise<void>;
}

/** The fees a transaction offered: EIP-1559's pair, or a legacy gas price on a chain without base fees. */
type Fees =
  | { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint; gasPrice?: undefined }
  | { gasPrice: bigint; maxFeePerGas?: undefined; maxPriorityFeePerGas?: undefined };

/** The one anchor transaction of a checkpoint: every version sent (a replacement keeps nonce and data). */
interface Outstanding extends AnchorTarget {
  readonly nonce: number;
  /** Hashes of every version sent, oldest first: any of them may be the one mined. */
  readonly hashes: string[];
  fees: Fees;
  /** The latest version, signed, to send again if the node no longer knows it. */
  signed: string;
  /** Past this (ms since the epoch) with the transaction unmined, the anchor fails and the deadline moves on. */
  deadline: number;
  /** The newest block seen while it was unmined: fees are looked at again once per new block. */
  seenBlock: number;
}

/**
 * A replacement must offer at least 10% more on every fee (geth's default price bump; other clients ask no
 * more): 12.5% clears it with rounding to spare.
 */
const bumped = (fee: bigint) => (fee * 9n + 7n) / 8n;
const atLeast = (a: bigint, b: bigint) => (a > b ? a : b);
const atMost = (a: bigint, b: bigint) => (a < b ? a : b);
const gwei = (wei: bigint) => `${formatUnits(wei, 'gwei').replace(/\.0$/, '')} gwei`;
/** The most a transaction with these fees may pay per gas. */
const offered = (fees: Fees) => fees.gasPrice ?? fees.maxFeePerGas!;
/** Whether `current` asks more than `old` offered, on any fee. */
const outbids = (current: Fees, old: Fees) =>
  old.gasPrice !== undefined
    ? offered(current) > old.gasPrice
    : offered(current) > old.maxFeePerGas ||
      (current.maxPriorityFeePerGas ?? current.gasPrice!) > old.maxPriorityFeePerGas;
const sameFees = (a: Fees, b: Fees) =>
  a.gasPrice === b.gasPrice &&
  a.maxFeePerGas === b.maxFeePerGas &&
  a.maxPriorityFeePerGas === b.maxPriorityFeePerGas;

/**
 * Sends the anchor transactions of every log from one account, and follows each until it is recorded.
 *
 * A log has at most one anchor transaction outstanding, and a checkpoint at most one anchor transaction: each
 * step of a log first looks up the receipt of the one it sent, records it once it has the confirmations
 * (depth = head − its block + 1), and only when there is none asks for the next checkpoint to anchor.
 *
 * Fees never exceed `maxFeePerGas`. An unmined transaction is looked at again once per new block: it is
 * replaced (same nonce and checkpoint) only when the network's fee suggestion now asks more than it offered,
 * at that suggestion and at least 12.5% more on each fee, within the maximum; otherwise it is waited for. So a
 * fee spike does not leave it, and every later transaction of the account, queued, and a stalled chain or a
 * slow confirmation never makes it pay more. One the node no longer knows is sent again. Steps run one at a
 * time (one account, so nonces must not race). This process remembers what it sent; a transaction left
 * pending by an earlier process is not replaced, and anchors wait behind it until it is mined. The account
 * must send nothing but anchors.
 */
export class Anchorer {
  private readonly provider: JsonRpcProvider;
  private readonly wallet: Wallet;
  private queue: Promise<unknown> = Promise.resolve();
  /** Per log (origin): the anchor transaction sent and not yet recorded. */
  private readonly outstanding = new Map<string, Outstanding>();
  private readonly confirmations: number;
  private readonly timeoutMs: number;
  private readonly maxFeePerGas: bigint;
  /** Whether the endpoint answered eth_chainId with the configured chain since the last failure. */
  private chainVerified = false;

  constructor(readonly options: AnchorOptions) {
    this.confirmations = options.confirmations ?? DEFAULT_ANCHOR_CONFIRMATIONS;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_ANCHOR_TIMEOUT_MS;
    this.maxFeePerGas = options.maxFeePerGas ?? DEFAULT_ANCHOR_MAX_FEE_PER_GAS;
    for (const [name, value] of [
      ['everyN', options.everyN],
      ['chainId', options.chainId],
      ['confirmations', this.confirmations],
      ['timeoutMs', this.timeoutMs],
    ] as const)
      if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`anchor.${name} must be >= 1`);
    if (typeof this.maxFeePerGas !== 'bigint' || this.maxFeePerGas < 1n)
      throw new TypeError('anchor.maxFeePerGas must be a bigint >= 1 (wei)');
    // ethers otherwise waits five minutes for each answer: a node that accepts connections and never answers
    // would hold this and every later anchor, and Ledger.stop(), that long per request.
    const request = new FetchRequest(options.rpcUrl);
    request.timeout = this.timeoutMs;
    // cacheTimeout -1: ethers otherwise answers a repeated eth_getTransactionCount from a 250 ms cache, and a
    // second anchor sent within that window reuses the previous nonce ("nonce too low"). The configured
    // network, static: ethers then never detects one, which it would retry and report on stdout every second
    // while the endpoint is unreachable; verifyChain asks the endpoint instead.
    const network = Network.from(options.chainId);
    this.provider = new JsonRpcProvider(request, network, {
      staticNetwork: network,
      cacheTimeout: -1,
      pollingInterval: 100,
    });
    this.wallet = new Wallet(options.privateKey, this.provider);
  }

  /** One step for the log of `origin`; see the class comment. Rejects with LEDGER_ANCHOR_FAILED. */
  advance(origin: string, hooks: AnchorLogHooks): Promise<AnchorProgress> {
    const run = this.queue.then(() => this.step(origin, hooks));
    this.queue = run.catch(() => undefined);
    return run;
  }

  destroy(): void {
    this.provider.destroy();
  }

  private async step(origin: string, given: AnchorLogHooks): Promise<AnchorProgress> {
    const sent = this.outstanding.get(origin);
    // The hooks' own failures (the database's) pass through as they are; only the endpoint's are described.
    const hooks: AnchorLogHooks = {
      next: () => given.next().catch((err: unknown) => Promise.reject(new HookFailure(err))),
      record: (anchor) => given.record(anchor).catch((err: unknown) => Promise.reject(new HookFailure(err))),
    };
    try {
      if (sent) {
        await this.verifyChain();
        return await this.follow(origin, sent, hooks);
      }
      const target = await hooks.next();
      if (!target) return { state: 'idle' };
      await this.verifyChain();
      return await this.send(origin, target);
    } catch (err) {
      // Asked again after a failure: the endpoint may have been pointed elsewhere meanwhile.
      this.chainVerified = false;
      if (err instanceof HookFailure) throw err.error;
      if (err instanceof LedgerError) throw err;
      // Described, never kept as `cause`: what is logged must not carry the endpoint's URL (see rpc-error.ts).
      const size = sent?.size;
      throw new LedgerError(
        'LEDGER_ANCHOR_FAILED',
        `anchoring ${origin}${size === undefined ? '' : ` at ${size}`} failed: ` +
          describeRpcError(err, this.options.rpcUrl),
      );
    }
  }

  /** Refuses to send or record anything through an endpoint on another chain than the configured one. */
  private async verifyChain(): Promise<void> {
    if (this.chainVerified) return;
    const answer: unknown = await this.provider.send('eth_chainId', []);
    const chainId = typeof answer === 'string' && /^0x[0-9a-f]+$/i.test(answer) ? BigInt(answer) : undefined;
    if (chainId !== BigInt(this.options.chainId))
      throw new LedgerError(
        'LEDGER_ANCHOR_FAILED',
        `refusing to anchor: the JSON-RPC endpoint is on chain ${chainId ?? JSON.stringify(answer)}, ` +
          `not the configured chain ${this.options.chainId}`,
      );
    this.chainVerified = true;
  }

  /** Sends the one transaction of a newly due checkpoint. */
  private async send(origin: string, target: AnchorTarget): Promise<AnchorProgress> {
    const [pending, current, head] = await Promise.all([
      this.provider.getTransactionCount(this.wallet.address, 'pending'),
      this.currentFees(),
      this.provider.getBlockNumber(),
    ]);
    const fees = this.capped(current);
    // Another log's transaction that the node has not yet counted keeps its nonce.
    const nonce = Math.max(pending, ...[...this.outstanding.values()].map((o) => o.nonce + 1));
    const signed = await this.sign(origin, target, nonce, fees);
    const outstanding: Outstanding = {
      ...target,
      nonce,
      hashes: [],
      fees,
      signed,
      deadline: Date.now() + this.timeoutMs,
      seenBlock: head,
    };
    outstanding.hashes.push(hashOf(signed));
    // Remembered before it is sent: if the answer is lost, the next step still finds it by its hash.
    this.outstanding.set(origin, outstanding);
    await this.broadcast(signed);
    return { state: 'pending', size: target.size, txHash: hashOf(signed) };
  }

  /** The next step for a transaction sent earlier: record it, wait for it, or send it again. */
  private async follow(origin: string, sent: Outstanding, hooks: AnchorLogHooks): Promise<AnchorProgress> {
    // The count first: a transaction mined after it was read shows in the receipts read after it.
    const minedNonces = await this.provider.getTransactionCount(this.wallet.address, 'latest');
    const receipt = await this.minedReceipt(sent);
    if (receipt) {
      const head = await this.provider.getBlockNumber();
      const depth = head - receipt.blockNumber + 1;
      if (depth < this.confirmations)
        return { state: 'confirming', size: sent.size, txHash: receipt.hash, depth };
      const anchor: ConfirmedAnchor = {
        size: sent.size,
        root: sent.root,
        chainId: this.options.chainId,
        txHash: receipt.hash,
        blockNumber: receipt.blockNumber,
        status: receipt.status ?? 0,
        from: receipt.from,
      };
      await hooks.record(anchor);
      this.outstanding.delete(origin);
      return { state: 'recorded', anchor };
    }
    const latest = sent.hashes.at(-1)!;
    if (minedNonces > sent.nonce) {
      // Its nonce was used by a transaction that is none of ours: this checkpoint is anchored anew.
      this.outstanding.delete(origin);
      throw new LedgerError(
        'LEDGER_ANCHOR_FAILED',
        `anchoring ${origin} at ${sent.size}: nonce ${sent.nonce} was used by another transaction of the ` +
          'anchoring account, not by anchor transaction ' +
          `${latest}; the account must send nothing but anchors`,
      );
    }
    const head = await this.provider.getBlockNumber();
    const newBlock = head > sent.seenBlock;
    const late = Date.now() >= sent.deadline;
    if (newBlock || late) {
      sent.seenBlock = Math.max(head, sent.seenBlock);
      // Moved on first: a failure below counts once for this deadline, not once per step.
      if (late) sent.deadline = Date.now() + this.timeoutMs;
      const [known, current] = await Promise.all([this.provider.getTransaction(latest), this.currentFees()]);
      // A node that dropped it (restarted, or evicted it below a risen base fee) is sent it again, at what
      // the network now asks if that is more, within the maximum.
      if (!known) await this.resend(origin, sent, current);
      else if (newBlock && outbids(current, sent.fees)) await this.outbid(origin, sent, current);
      if (late)
        throw new LedgerError(
          'LEDGER_ANCHOR_FAILED',
          `anchoring ${origin} at ${sent.size}: transaction ${sent.hashes.at(-1)!} not mined within ` +
            `${this.timeoutMs} ms; it offers ${gwei(offered(sent.fees))} per gas, the network suggests ` +
            `${gwei(offered(current))}, the maximum is ${gwei(this.maxFeePerGas)}; still waiting for it`,
        );
    }
    return { state: 'pending', size: sent.size, txHash: sent.hashes.at(-1)! };
  }

  /**
   * Replaces an unmined transaction that the network's suggestion outbids: that suggestion, and at least 12.5%
   * more on each fee (or the node refuses it), within the maximum. When the maximum leaves no room for that, it
   * keeps waiting.
   */
  private async outbid(origin: string, sent: Outstanding, current: Fees): Promise<void> {
    const old = sent.fees;
    const cap = this.maxFeePerGas;
    let fees: Fees;
    if (old.gasPrice !== undefined) {
      const gasPrice = atMost(cap, atLeast(offered(current), bumped(old.gasPrice)));
      if (gasPrice < bumped(old.gasPrice)) return;
      fees = { gasPrice };
    } else {
      const maxFeePerGas = atMost(cap, atLeast(offered(current), bumped(old.maxFeePerGas)));
      const maxPriorityFeePerGas = atMost(
        maxFeePerGas,
        atLeast(current.maxPriorityFeePerGas ?? current.gasPrice!, bumped(old.maxPriorityFeePerGas)),
      );
      if (maxFeePerGas < bumped(old.maxFeePerGas) || maxPriorityFeePerGas < bumped(old.maxPriorityFeePerGas))
        return;
      fees = { maxFeePerGas, maxPriorityFeePerGas };
    }
    await this.sendVersion(origin, sent, fees);
  }

  /** Sends a transaction the node does not know again: its fees, or what the network now asks if more. */
  private async resend(origin: string, sent: Outstanding, current: Fees): Promise<void> {
    const old = sent.fees;
    const fees = this.capped(
      old.gasPrice !== undefined
        ? { gasPrice: atLeast(offered(current), old.gasPrice) }
        : {
            maxFeePerGas: atLeast(offered(current), old.maxFeePerGas),
            maxPriorityFeePerGas: atLeast(
              current.maxPriorityFeePerGas ?? current.gasPrice!,
              old.maxPriorityFeePerGas,
            ),
          },
    );
    if (sameFees(fees, old)) await this.broadcast(sent.signed);
    else await this.sendVersion(origin, sent, fees);
  }

  /** Signs and sends a version of the transaction with other fees (same nonce and checkpoint). */
  private async sendVersion(origin: string, sent: Outstanding, fees: Fees): Promise<void> {
    const signed = await this.sign(origin, sent, sent.nonce, fees);
    sent.hashes.push(hashOf(signed));
    sent.fees = fees;
    sent.signed = signed;
    await this.broadcast(signed);
  }

  /** The fees within the maximum: the max fee (or gas price) at most it, the priority fee at most that. */
  private capped(fees: Fees): Fees {
    if (fees.gasPrice !== undefined) return { gasPrice: atMost(fees.gasPrice, this.maxFeePerGas) };
    const maxFeePerGas = atMost(fees.maxFeePerGas, this.maxFeePerGas);
    return { maxFeePerGas, maxPriorityFeePerGas: atMost(fees.maxPriorityFeePerGas, maxFeePerGas) };
  }

  private async currentFees(): Promise<Fees> {
    const { maxFeePerGas, maxPriorityFeePerGas, gasPrice } = await this.provider.getFeeData();
    return maxFeePerGas !== null && maxPriorityFeePerGas !== null
      ? { maxFeePerGas, maxPriorityFeePerGas }
      : { gasPrice: gasPrice ?? 0n };
  }

  private async sign(origin: string, target: AnchorTarget, nonce: number, fees: Fees): Promise<string> {
    const tx = await this.wallet.populateTransaction({
      to: this.wallet.address,
      value: 0n,
      data: hexlify(encodeAnchorData(origin, target.size, target.root)),
      nonce,
      ...fees,
    });
    return this.wallet.signTransaction(tx);
  }

  private async broadcast(signed: string): Promise<void> {
    try {
      await this.provider.broadcastTransaction(signed);
    } catch (err) {
      // Sent before, and its answer lost: the node has it.
      if (/already known|known transaction/i.test(rpcErrorText(err))) return;
      throw err;
    }
  }

  /** The receipt of whichever version of the transaction was mined, if one was. */
  private async minedReceipt(sent: Outstanding): Promise<TransactionReceipt | undefined> {
    for (const hash of [...sent.hashes].reverse()) {
      const receipt = await this.provider.getTransactionReceipt(hash);
      if (receipt) return receipt;
    }
    return undefined;
  }
}

const hashOf = (signed: string): string => Transaction.from(signed).hash!;

/** A hook's failure, carried through a step unchanged. */
class HookFailure extends Error {
  constructor(readonly error: unknown) {
    super('anchor hook failed');
  }
}

/** The node's own words in an ethers error, where it has them. */
function rpcErrorText(err: unknown): string {
  const e = err as { error?: { message?: unknown }; shortMessage?: unknown; message?: unknown };
  return [e?.error?.message, e?.shortMessage, e?.message].filter((m) => typeof m === 'string').join(' ');
}
