import type { Kysely } from 'kysely';
import type { AnchorOptions } from './anchor/anchorer.ts';
import { Anchoring } from './anchor/anchoring.ts';
import { encodeEntry } from './entry.ts';
import { LedgerError } from './errors.ts';
import { loadLedgerKeys, type LedgerKeysOption } from './keys/keys.ts';
import { ed25519Signer, isValidKeyName } from './note/index.ts';
import { Appender, type CompanionRow } from './store/appender.ts';
import { integrateOnce, logsWithNewEntries, type IntegrationContext } from './store/integrator.ts';
import { createReader, type LedgerReader, type LogInfo } from './store/reader.ts';
import { toHex, type LedgerTables } from './store/tables.ts';
import type { AnchorRecord, Sequenced, TreeHead } from './types.ts';

export const DEFAULT_CHECKPOINT_INTERVAL_MS = 500;
export const DEFAULT_MAX_PENDING_APPENDS = 10_000;

export interface LedgerOptions {
  readonly db: Kysely<LedgerTables>;
  /** One log per region; the origin is also the checkpoint key name (a schema-less URL, e.g. arbiter.example/eu). */
  readonly logs: readonly { readonly region: string; readonly origin: string }[];
  readonly keys: LedgerKeysOption;
  readonly clock?: () => Date;
  /** How often the background loop integrates and signs; a checkpoint follows an append within about this. */
  readonly checkpointIntervalMs?: number;
  /** Appends waiting per log beyond which append() fails fast with LEDGER_PUSHBACK. */
  readonly maxPendingAppends?: number;
  /** Anchor every Nth checkpoint on an EVM chain; without it nothing is anchored. */
  readonly anchor?: AnchorOptions;
  /** Errors from the background loop (integration, anchoring); default: written to stderr. */
  readonly onError?: (err: unknown) => void;
}

export interface AppendOptions {
  /**
   * A row for a table of the caller's that commits in the same statement as the entry, built once the entry's
   * leaf hash is known (its sequence number goes into the row's `seqColumn`): the caller's record and the log
   * never disagree about whether it was appended.
   */
  readonly companion?: (entry: { readonly region: string; readonly leafHash: string }) => CompanionRow;
}

export interface Ledger {
  /**
   * Appends a JSON entry (with a string `type`) to the region's log. MUST NOT resolve before the entry and its
   * sequence number are committed; sequence numbers are gap-free and strictly ordered per log, across
   * processes. Rejects with LEDGER_PUSHBACK when too many appends are waiting (answer 503 + Retry-After).
   */
  append(region: string, entry: Record<string, unknown>, options?: AppendOptions): Promise<Sequenced>;
  /** Starts the background loop: integrate, sign a checkpoint, anchor. */
  start(): void;
  /**
   * Stops the loop, drains queued appends, integrates them and waits for anchors in flight. Integration
   * failures here go to `onError`.
   */
  stop(): Promise<void>;
  /** Integrates everything sequenced so far and returns the signed tree head. */
  integrate(region: string): Promise<TreeHead>;
  /** Anchors the latest checkpoint now (needs `anchor` options); null when it is already anchored. */
  anchor(region: string): Promise<AnchorRecord | null>;
  readonly reader: LedgerReader;
}

interface LogRuntime {
  readonly info: LogInfo;
  readonly integration: IntegrationContext;
}

function validateOptions(options: LedgerOptions): void {
  if (options.logs.length === 0) throw new TypeError('ledger needs at least one log');
  const regions = new Set(options.logs.map((l) => l.region));
  const origins = new Set(options.logs.map((l) => l.origin));
  if (regions.size !== options.logs.length || origins.size !== options.logs.length)
    throw new TypeError('ledger regions and origins must be unique');
  for (const { origin } of options.logs)
    if (!isValidKeyName(origin))
      throw new TypeError(`origin ${JSON.stringify(origin)} is not a valid key name`);
  for (const [name, value] of [
    ['checkpointIntervalMs', options.checkpointIntervalMs],
    ['maxPendingAppends', options.maxPendingAppends],
  ] as const)
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0))
      throw new TypeError(`${name} must be > 0`);
}

/** Opens (creating on first start) one log per configured region and returns the ledger. */
export async function createLedger(options: LedgerOptions): Promise<Ledger> {
  validateOptions(options);
  const { db } = options;
  const clock = options.clock ?? (() => new Date());
  const interval = options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
  const maxPending = options.maxPendingAppends ?? DEFAULT_MAX_PENDING_APPENDS;
  const onError = options.onError ?? ((err: unknown) => console.error('ledger:', err));
  const keys = await loadLedgerKeys(options.keys);
  const anchoring = options.anchor ? new Anchoring(db, options.anchor, clock, onError) : undefined;

  const appender = new Appender(db, maxPending);
  const runtimes = new Map<string, LogRuntime>();
  for (const { region, origin } of options.logs) {
    const signer = ed25519Signer(origin, keys.ed25519Seed);
    const publicKeys = { origin, ed25519_vkey: signer.vkey, eip191_address: keys.wallet.address };
    // Never resets an existing log: a second process (or restart) finds the row and checks it.
    await db
      .insertInto('ledger_log')
      .values({
        region,
        origin,
        ed25519_vkey: publicKeys.ed25519_vkey,
        eip191_address: publicKeys.eip191_address,
        created_at: clock(),
      })
      .onConflict((oc) => oc.column('region').doNothing())
      .execute();
    const row = await db
      .selectFrom('ledger_log')
      .selectAll()
      .where('region', '=', region)
      .executeTakeFirstOrThrow();
    if (
      row.origin !== origin ||
      row.ed25519_vkey !== publicKeys.ed25519_vkey ||
      row.eip191_address !== publicKeys.eip191_address
    )
      throw new LedgerError(
        'LEDGER_KEY_INVALID',
        `the ${region} log was created as ${row.origin} with key ${row.ed25519_vkey}; refusing to sign it with another`,
      );
    const info: LogInfo = { region, origin, logId: row.id, keys: publicKeys };
    runtimes.set(region, {
      info,
      integration: { db, logId: row.id, origin, signer, wallet: keys.wallet, clock },
    });
  }

  const runtimeOf = (region: string): LogRuntime => {
    const runtime = runtimes.get(region);
    if (!runtime)
      throw new LedgerError('LEDGER_UNKNOWN_REGION', `no ledger for region ${JSON.stringify(region)}`);
    return runtime;
  };

  const integrate = async (runtime: LogRuntime): Promise<TreeHead> => {
    for (;;) {
      const result = await integrateOnce(runtime.integration);
      if (!result.more) {
        const { region, origin } = runtime.info;
        return { region, origin, size: result.size, root: toHex(result.root) };
      }
    }
  };

  // Every log starts with a signed checkpoint (size 0 on a new log).
  for (const runtime of runtimes.values()) await integrate(runtime);

  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  const tick = async () => {
    let behind: Set<number>;
    try {
      behind = await logsWithNewEntries(
        db,
        [...runtimes.values()].map((r) => r.info.logId),
      );
    } catch (err) {
      return onError(err);
    }
    for (const runtime of runtimes.values()) {
      try {
        if (behind.has(runtime.info.logId)) await integrate(runtime);
        // Also checkpoints signed outside this loop (integrate() calls, other processes) count towards N.
        anchoring?.poll(runtime.info);
      } catch (err) {
        onError(err);
      }
    }
  };

  return {
    async append(region, entry, options) {
      const runtime = runtimeOf(region);
      const encoded = encodeEntry(entry);
      const leafHash = toHex(encoded.leafHash);
      const { companion } = options ?? {};
      const seq = await appender.append(runtime.info.logId, encoded, companion?.({ region, leafHash }));
      return { region, seq, leafHash };
    },
    start() {
      if (timer) return;
      timer = setInterval(() => {
        if (!ticking) ticking = tick().finally(() => (ticking = undefined));
      }, interval);
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await ticking;
      await appender.stop();
      for (const runtime of runtimes.values()) {
        // One log failing to integrate (e.g. LEDGER_CORRUPT) must not keep the others from shutting down.
        await integrate(runtime).catch(onError);
      }
      await anchoring?.stop();
    },
    async integrate(region) {
      return integrate(runtimeOf(region));
    },
    async anchor(region) {
      const runtime = runtimeOf(region);
      if (!anchoring) throw new TypeError('anchoring is not configured');
      return anchoring.anchorNow(runtime.info);
    },
    reader: createReader(db, new Map([...runtimes].map(([region, r]) => [region, r.info]))),
  };
}
