import canonicalize from 'canonicalize';
import { FetchRequest, JsonRpcProvider, Network, getAddress, getBytes, isAddress } from 'ethers';
import { encodeAnchorData } from '../anchor/anchor-data.ts';
import { describeRpcError } from '../anchor/rpc-error.ts';
import { InclusionVerifier, equalHashes, hashLeaf, verifyConsistency } from '../merkle/index.ts';
import {
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  verifyCheckpointEip191,
  type Checkpoint,
  type NoteVerifier,
} from '../note/index.ts';
import type { AuditBundle, EntryRecord, InclusionProof, PublicKeys } from '../types.ts';

// The offline verifier auditors run. No database and no network unless `rpcUrl` is given. Everything in the
// bundle is untrusted: sizes and roots are taken only from signed checkpoint text, never from the unsigned
// `size`/`root` fields next to it, and every failure is reported rather than thrown.

export interface VerifyBundleOptions {
  /** A checkpoint note the auditor already trusts; it must be consistent with the bundle's checkpoints. */
  readonly trustedCheckpoint?: string;
  /**
   * The log's vkey as the operator publishes it (GET /v1/ledger/{region}/keys). Without it the bundle can only
   * be checked against the key it carries, which anyone can replace, so the report fails.
   */
  readonly trustedVkey?: string;
  /** The EIP-191 checkpoint signer's address as the operator publishes it (same route). */
  readonly trustedEip191Address?: string;
  /** The account that sends the anchor transactions; a key of its own, separate from the EIP-191 signer. */
  readonly trustedAnchorAddress?: string;
  /** Check each anchor transaction on this EVM JSON-RPC endpoint. */
  readonly rpcUrl?: string;
  /** Longest wait for each answer of `rpcUrl`; past it the anchors not yet checked fail. */
  readonly rpcTimeoutMs?: number;
  /**
   * The chain (EIP-155 id) the anchors must be on, as the operator publishes it: an anchor that names another
   * fails, and with `rpcUrl`, every anchor fails unless the endpoint is on this chain. Without it, the chain is
   * whichever the endpoint serves.
   */
  readonly trustedChainId?: number;
  /**
   * Blocks that must hold each anchor transaction, its own included (depth = head − its block + 1); one less
   * deep fails. Needs `rpcUrl`: depth is counted on chain.
   */
  readonly minConfirmations?: number;
}

export const DEFAULT_RPC_TIMEOUT_MS = 30_000;

export type VerificationCheck =
  'bundle' | 'key' | 'entry' | 'inclusion' | 'checkpoint' | 'consistency' | 'trusted_checkpoint' | 'anchor';

export interface VerificationFailure {
  readonly check: VerificationCheck;
  readonly seq?: number;
  /** Checkpoint size the failure concerns. */
  readonly size?: number;
  /** Anchor transaction hash. */
  readonly anchor?: string;
  readonly message: string;
}

/** What was found of one anchor: its own fields, and its depth when looked up on chain. */
export interface AnchorCheck {
  readonly size: number | null;
  readonly txHash: string | null;
  readonly chainId: number | null;
  readonly blockNumber: number | null;
  /** Blocks holding the transaction, its own included, when it was looked up; null when it was not. */
  readonly confirmations: number | null;
  readonly ok: boolean;
}

export interface VerificationReport {
  readonly ok: boolean;
  readonly origin: string;
  /**
   * The chain the anchors were checked against: the RPC endpoint's (with `rpcUrl`, once it answered), else the
   * trusted chain id; null when neither.
   */
  readonly chainId: number | null;
  /** Where `chainId` comes from: the RPC endpoint's eth_chainId, or `trustedChainId` alone. */
  readonly chainIdFrom: 'endpoint' | 'trusted' | null;
  /** Each anchor of the bundle, in its order. */
  readonly anchors: readonly AnchorCheck[];
  readonly checked: {
    readonly entries: number;
    /** Entries before the range that the bundle cites (`cited`), each checked as the range's are. */
    readonly citedEntries: number;
    readonly checkpoints: number;
    readonly consistencyProofs: number;
    readonly anchors: number;
  };
  /** True only when anchors were looked up on chain (rpcUrl given). */
  readonly anchorsCheckedOnChain: boolean;
  readonly failures: readonly VerificationFailure[];
  /**
   * Bundle fields that neither a signature nor a check covered here, so a reader must not rely on them
   * (e.g. `created_at`, which the log records but never signs).
   */
  readonly unverified: readonly string[];
}

// The fields each record may have: a field the verifier does not know is a field nothing checks, so a bundle
// carrying one is refused rather than shown to an auditor as verified.
const FIELDS = {
  bundle: [
    'format',
    'region',
    'origin',
    'keys',
    'from',
    'to',
    'entries',
    'cited',
    'checkpoints',
    'inclusion_proofs',
    'consistency_proofs',
    'anchors',
  ],
  keys: ['origin', 'ed25519_vkey', 'eip191_address'],
  entry: ['seq', 'leaf_hash', 'entry', 'entry_b64'],
  checkpoint: ['size', 'root', 'note', 'eip191_signature', 'created_at'],
  inclusion: ['seq', 'size', 'leaf_hash', 'proof'],
  consistency: ['from', 'to', 'proof'],
  anchor: ['size', 'root', 'chain_id', 'tx_hash', 'block_number', 'status', 'from_address', 'created_at'],
} as const;
/** Fields a record may lack: bundles written before `cited` existed have none. */
const OPTIONAL: readonly string[] = ['cited'];

/** Undefined when `value` is an object with exactly these keys (the optional ones aside), else why not. */
function shapeProblem(value: unknown, fields: readonly string[], what: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${what} is not an object`;
  const unknown = Object.keys(value).filter((k) => !fields.includes(k));
  if (unknown.length > 0) return `${what} has unknown fields: ${unknown.join(', ')}`;
  const missing = fields.filter((k) => !(k in value) && !OPTIONAL.includes(k));
  if (missing.length > 0) return `${what} lacks ${missing.join(', ')}`;
  return undefined;
}

const isIndex = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
/** The form the reader writes (`Date#toISOString`); unsigned, but a mangled one is no timestamp at all. */
const isTimestamp = (t: unknown): boolean =>
  typeof t === 'string' && !Number.isNaN(Date.parse(t)) && new Date(t).toISOString() === t;
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (text: unknown): Uint8Array | undefined =>
  typeof text === 'string' && /^([0-9a-f]{2})*$/.test(text)
    ? new Uint8Array(Buffer.from(text, 'hex'))
    : undefined;
const hexHashes = (list: readonly unknown[]): Uint8Array[] | undefined => {
  const out = list.map(fromHex);
  return out.every((h): h is Uint8Array => h !== undefined) ? out : undefined;
};
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
/** Arbiter writes addresses as ethers does: EIP-55 checksummed. */
const isChecksummed = (address: unknown): address is string =>
  typeof address === 'string' && isAddress(address) && getAddress(address) === address;

/** Up to `limit` numbers of [from, to) that are not in `seen`; stops early, so a huge range costs nothing. */
function firstMissing(seen: ReadonlySet<number>, from: number, to: number, limit: number): number[] {
  const out: number[] = [];
  for (let seq = from; seq < to && out.length < limit; seq++) if (!seen.has(seq)) out.push(seq);
  return out;
}

/** Verifies an audit bundle; never throws for bad bundle content, it reports it. */
export async function verifyBundle(
  bundle: AuditBundle,
  options: VerifyBundleOptions = {},
): Promise<VerificationReport> {
  const { trustedChainId, minConfirmations } = options;
  if (trustedChainId !== undefined && !(Number.isSafeInteger(trustedChainId) && trustedChainId > 0))
    throw new TypeError('trustedChainId must be a positive integer');
  if (minConfirmations !== undefined && !(Number.isSafeInteger(minConfirmations) && minConfirmations > 0))
    throw new TypeError('minConfirmations must be a positive integer');
  if (minConfirmations !== undefined && !options.rpcUrl)
    throw new TypeError('minConfirmations needs rpcUrl: confirmations are counted on chain');
  const failures: VerificationFailure[] = [];
  const unverified: string[] = [];
  const fail = (f: VerificationFailure) => failures.push(f);
  const origin = typeof bundle?.origin === 'string' ? bundle.origin : '';
  const checked = { entries: 0, citedEntries: 0, checkpoints: 0, consistencyProofs: 0, anchors: 0 };
  const anchorChecks: AnchorCheck[] = [];
  let reportedChainId: number | null = options.trustedChainId ?? null;
  let chainIdFrom: VerificationReport['chainIdFrom'] = reportedChainId === null ? null : 'trusted';
  const result = (anchorsCheckedOnChain: boolean): VerificationReport => ({
    ok: failures.length === 0,
    origin,
    chainId: reportedChainId,
    chainIdFrom,
    anchors: anchorChecks,
    checked,
    anchorsCheckedOnChain,
    failures,
    unverified,
  });

  if (
    bundle?.format !== 'arbiter.ledger.bundle/v1' ||
    ![
      bundle.entries,
      bundle.checkpoints,
      bundle.inclusion_proofs,
      bundle.consistency_proofs,
      bundle.anchors,
      bundle.cited ?? [],
    ].every(Array.isArray)
  ) {
    fail({ check: 'bundle', message: 'not an arbiter.ledger.bundle/v1 document' });
    return result(false);
  }
  for (const problem of [
    shapeProblem(bundle, FIELDS.bundle, 'the bundle'),
    shapeProblem(bundle.keys, FIELDS.keys, 'keys'),
  ])
    if (problem) fail({ check: 'bundle', message: problem });
  const { from, to } = bundle;
  const range = isIndex(from) && isIndex(to) && from <= to;
  if (!range) fail({ check: 'bundle', message: 'from and to must be integers with 0 <= from <= to' });
  if (typeof bundle.region !== 'string' || !/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(bundle.region))
    fail({ check: 'bundle', message: 'region is not a name' });
  // The region is the operator's label for the log; the log itself is named by the signed origin.
  else unverified.push('region (no signature covers it; the log is identified by its signed origin)');

  // A hostile bundle may lack `keys`; each use below then fails as a missing field would.
  const keys: Partial<PublicKeys> =
    typeof bundle.keys === 'object' && bundle.keys !== null ? bundle.keys : {};
  let verifier: NoteVerifier;
  try {
    verifier = parseVerifierKey(options.trustedVkey ?? String(keys.ed25519_vkey));
    if (options.trustedVkey === undefined) {
      const region = typeof bundle.region === 'string' ? bundle.region : '{region}';
      fail({
        check: 'key',
        message:
          "the log's key is not pinned: the bundle was checked only against the key it carries itself, " +
          'which anyone can replace with their own. Pin it with --trusted-vkey (option trustedVkey): the ' +
          `ed25519_vkey the operator publishes at GET /v1/ledger/${region}/keys, obtained over a channel you trust`,
      });
    } else if (keys.ed25519_vkey !== options.trustedVkey)
      fail({ check: 'key', message: 'the bundle names a different key than the trusted vkey' });
    if (verifier.name !== origin) fail({ check: 'key', message: 'key name differs from the bundle origin' });
    if (keys.origin !== origin)
      fail({ check: 'bundle', message: 'keys.origin differs from the bundle origin' });
  } catch (err) {
    fail({ check: 'key', message: `bad verifier key: ${message(err)}` });
    return result(false);
  }

  let eip191Address = String(keys.eip191_address);
  if (!isChecksummed(eip191Address))
    fail({ check: 'key', message: 'keys.eip191_address is not an EIP-55 checksummed address' });
  if (options.trustedEip191Address === undefined)
    unverified.push('keys.eip191_address (not pinned: give the trusted EIP-191 address to check it)');
  else if (!isAddress(options.trustedEip191Address))
    fail({ check: 'key', message: 'the trusted EIP-191 address is not an address' });
  else {
    eip191Address = getAddress(options.trustedEip191Address);
    if (keys.eip191_address !== eip191Address)
      fail({ check: 'key', message: 'the bundle names a different EIP-191 address than the trusted one' });
  }

  // Checkpoints: signature, origin, EIP-191 signature; keep the signed (size, root) pairs. The unsigned
  // size/root beside each note must repeat the signed ones, or a reader of the JSON would be misled.
  const signed = new Map<number, Checkpoint>();
  let previous = -1;
  for (const cp of bundle.checkpoints) {
    checked.checkpoints++;
    try {
      const problem = shapeProblem(cp, FIELDS.checkpoint, 'checkpoint record');
      if (problem) throw new Error(problem);
      const { text } = openNote(cp.note, [verifier]);
      const parsed = parseCheckpoint(text);
      if (parsed.origin !== origin) throw new Error(`origin ${parsed.origin} is not ${origin}`);
      if (parsed.size <= previous) throw new Error('checkpoints are not in ascending size order');
      if (cp.size !== parsed.size) throw new Error(`size ${cp.size} differs from the signed ${parsed.size}`);
      if (cp.root !== toHex(parsed.root)) throw new Error('root differs from the signed root');
      if (!isTimestamp(cp.created_at)) throw new Error('created_at is not an ISO 8601 UTC timestamp');
      if (!verifyCheckpointEip191(text, cp.eip191_signature, eip191Address))
        throw new Error('EIP-191 signature does not verify');
      previous = parsed.size;
      signed.set(parsed.size, parsed);
    } catch (err) {
      fail({
        check: 'checkpoint',
        size: typeof cp?.size === 'number' ? cp.size : undefined,
        message: message(err),
      });
    }
  }
  if (bundle.checkpoints.length > 0) unverified.push('checkpoints[].created_at (not signed)');
  const head = Math.max(-1, ...signed.keys());
  if (range && head < to)
    fail({
      check: 'checkpoint',
      message: `no valid checkpoint covers the bundle's range [${from}, ${to})`,
    });

  // Entries: exactly one per seq of [from, to), canonical bytes, leaf hash, inclusion in a signed checkpoint.
  const proofs = new Map<unknown, InclusionProof>();
  for (const p of bundle.inclusion_proofs) {
    const problem = shapeProblem(p, FIELDS.inclusion, 'inclusion proof');
    const seq = typeof p?.seq === 'number' ? p.seq : undefined;
    if (problem) fail({ check: 'inclusion', seq, message: problem });
    else if (proofs.has(p.seq)) fail({ check: 'inclusion', seq, message: 'more than one inclusion proof' });
    else proofs.set(p.seq, p);
  }
  // One verifier per signed tree: the proofs of a bundle's entries share most of their nodes.
  const inclusionVerifiers = new Map<number, InclusionVerifier>();
  const inclusionVerifierOf = (checkpoint: Checkpoint): InclusionVerifier => {
    let inclusion = inclusionVerifiers.get(checkpoint.size);
    if (!inclusion)
      inclusionVerifiers.set(
        checkpoint.size,
        (inclusion = new InclusionVerifier(checkpoint.size, checkpoint.root)),
      );
    return inclusion;
  };
  // `held`: every seq the bundle has an entry for; `seen`: those of [from, to), each counted once.
  const held = new Set<number>();
  const seen = new Set<number>();
  const checkEntry = (entry: EntryRecord, cited: boolean): void => {
    const seq = entry?.seq;
    try {
      if (!isIndex(seq)) throw new Error('seq is not a non-negative integer');
      if (held.has(seq)) throw new Error('the bundle holds this seq more than once');
      held.add(seq);
      if (cited) {
        if (range && seq >= from)
          throw new Error(`a cited entry's seq is not before the range [${from}, ${to})`);
      } else {
        if (range && (seq < from || seq >= to))
          throw new Error(`seq is outside the bundle's range [${from}, ${to})`);
        seen.add(seq);
      }
      const problem = shapeProblem(entry, FIELDS.entry, 'entry record');
      if (problem) throw new Error(problem);
      const body = Buffer.from(String(entry.entry_b64), 'base64');
      if (body.toString('base64') !== entry.entry_b64) throw new Error('entry_b64 is not base64');
      const leaf = hashLeaf(body);
      if (!equalHashes(leaf, fromHex(entry.leaf_hash) ?? new Uint8Array()))
        throw new Error('leaf hash is not SHA-256(0x00 || entry bytes)');
      // As bytes: the bytes of a string that is no UTF-8 decode to U+FFFD, as would the bytes of a real U+FFFD.
      if (!Buffer.from(canonicalize(entry.entry) ?? '', 'utf8').equals(body))
        throw new Error('entry JSON does not match the hashed bytes');
      const proof = proofs.get(seq);
      if (!proof) throw new Error('no inclusion proof');
      if (proof.leaf_hash !== entry.leaf_hash)
        throw new Error("the inclusion proof's leaf_hash is not the entry's leaf hash");
      const checkpoint = signed.get(proof.size);
      if (!checkpoint)
        throw new Error(`inclusion proof is against size ${proof.size}, which no valid checkpoint signs`);
      const path = Array.isArray(proof.proof) ? hexHashes(proof.proof) : undefined;
      if (!path) throw new Error('inclusion proof is not a list of hex hashes');
      inclusionVerifierOf(checkpoint).verify(seq, leaf, path);
    } catch (err) {
      fail({ check: 'entry', seq: isIndex(seq) ? seq : undefined, message: message(err) });
    }
  };
  for (const entry of bundle.entries) {
    checked.entries++;
    checkEntry(entry, false);
  }
  for (const entry of bundle.cited ?? []) {
    checked.citedEntries++;
    checkEntry(entry, true);
  }
  for (const seq of proofs.keys())
    if (!held.has(seq as number))
      fail({
        check: 'inclusion',
        seq: isIndex(seq) ? seq : undefined,
        message: 'inclusion proof for an entry the bundle does not hold',
      });
  if (range && seen.size < to - from) {
    const missing = to - from - seen.size;
    const listed = firstMissing(seen, from, to, 10);
    fail({
      check: 'entry',
      message:
        `${missing} entries of [${from}, ${to}) are missing: seq ${listed.join(', ')}` +
        (missing > listed.length ? ', ...' : ''),
    });
  }

  // Consistency between consecutive signed checkpoints.
  const consistency = bundle.consistency_proofs;
  const used = new Set<unknown>();
  const checkConsistency = (old: Checkpoint, next: Checkpoint): string | undefined => {
    if (old.size === next.size)
      return equalHashes(old.root, next.root) ? undefined : 'same size, different roots';
    const proof = consistency.find((p) => p?.from === old.size && p?.to === next.size);
    if (!proof) return `no consistency proof from ${old.size} to ${next.size}`;
    used.add(proof);
    checked.consistencyProofs++;
    const problem = shapeProblem(proof, FIELDS.consistency, 'consistency proof');
    if (problem) return problem;
    const path = Array.isArray(proof.proof) ? hexHashes(proof.proof) : undefined;
    if (!path) return 'consistency proof is not a list of hex hashes';
    try {
      verifyConsistency(old.size, next.size, old.root, next.root, path, { allowEmptyOld: true });
      return undefined;
    } catch (err) {
      return message(err);
    }
  };
  const sizes = [...signed.keys()];
  for (let i = 1; i < sizes.length; i++) {
    const problem = checkConsistency(signed.get(sizes[i - 1]!)!, signed.get(sizes[i]!)!);
    if (problem) fail({ check: 'consistency', size: sizes[i], message: problem });
  }

  if (options.trustedCheckpoint !== undefined) {
    try {
      const trusted = parseCheckpoint(openNote(options.trustedCheckpoint, [verifier]).text);
      if (trusted.origin !== origin) throw new Error(`trusted checkpoint is for ${trusted.origin}`);
      const latest = signed.get(head);
      if (!latest) throw new Error('the bundle has no valid checkpoint to compare with');
      const [older, newer] = trusted.size <= latest.size ? [trusted, latest] : [latest, trusted];
      // The bundle's signed checkpoints were proven consistent one to the next above, so one of the trusted
      // size links the trusted checkpoint to the head through them: a direct proof (trusted_size) is checked
      // when the bundle has one, never required.
      const sameSize = signed.get(trusted.size);
      const problem =
        sameSize && !equalHashes(sameSize.root, trusted.root)
          ? `the bundle's checkpoint of size ${trusted.size} has another root than the trusted one: ` +
            'the log forked'
          : sameSize && !consistency.some((p) => p?.from === older.size && p?.to === newer.size)
            ? undefined
            : checkConsistency(older, newer);
      if (problem) throw new Error(problem);
    } catch (err) {
      fail({ check: 'trusted_checkpoint', message: message(err) });
    }
  }
  // The export adds a proof from `trusted_size` for an auditor who holds that checkpoint; without it, the
  // proof links to nothing signed.
  // One that links nothing is still held to the form of a proof: a mangled one says the bundle was altered.
  consistency.forEach((p, i) => {
    if (used.has(p)) return;
    const problem =
      shapeProblem(p, FIELDS.consistency, `consistency_proofs[${i}]`) ??
      (!isIndex(p.from) || !isIndex(p.to) || p.from > p.to
        ? `consistency_proofs[${i}] has no sizes from ≤ to`
        : !Array.isArray(p.proof) || !hexHashes(p.proof)
          ? `consistency_proofs[${i}] is not a list of hex hashes`
          : undefined);
    if (problem) fail({ check: 'consistency', message: problem });
    else
      unverified.push(
        `consistency_proofs[${i}] (from ${String(p?.from)} to ${String(p?.to)}: ` +
          'links no two checkpoints checked here; give the trusted checkpoint of that size to use it)',
      );
  });

  // Anchors: each must commit to a signed checkpoint; with rpcUrl, the transaction must be on chain.
  let trustedAnchorAddress: string | undefined;
  if (options.trustedAnchorAddress !== undefined) {
    if (isAddress(options.trustedAnchorAddress))
      trustedAnchorAddress = getAddress(options.trustedAnchorAddress);
    else fail({ check: 'key', message: 'the trusted anchor address is not an address' });
  }
  const chain = options.rpcUrl
    ? anchorChain(options.rpcUrl, options.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS)
    : undefined;
  try {
    // Asked once up front, so that the report names the endpoint's chain even when every anchor fails before
    // it is looked up; a failure here fails each anchor below.
    if (chain && bundle.anchors.length > 0)
      await chain.provider().then(
        ({ chainId }) => ((reportedChainId = chainId), (chainIdFrom = 'endpoint')),
        () => undefined,
      );
    for (const anchor of bundle.anchors) {
      checked.anchors++;
      const where = {
        check: 'anchor' as const,
        anchor: typeof anchor?.tx_hash === 'string' ? anchor.tx_hash : undefined,
        size: typeof anchor?.size === 'number' ? anchor.size : undefined,
      };
      const failuresBefore = failures.length;
      const report = {
        size: where.size ?? null,
        txHash: where.anchor ?? null,
        chainId: isIndex(anchor?.chain_id) ? anchor.chain_id : null,
        blockNumber: isIndex(anchor?.block_number) ? anchor.block_number : null,
        confirmations: null as number | null,
      };
      try {
        const problem = shapeProblem(anchor, FIELDS.anchor, 'anchor record');
        if (problem) {
          fail({ ...where, message: problem });
          continue;
        }
        const checkpoint = signed.get(anchor.size);
        const offline = !checkpoint
          ? 'anchors no valid checkpoint'
          : anchor.root !== toHex(checkpoint.root)
            ? 'root differs from the signed root of that size'
            : anchor.status !== 1
              ? 'the anchor transaction did not succeed (status is not 1)'
              : !/^0x[0-9a-f]{64}$/.test(anchor.tx_hash)
                ? 'tx_hash is not a transaction hash'
                : !isIndex(anchor.block_number) || !isIndex(anchor.chain_id) || anchor.chain_id === 0
                  ? 'block_number or chain_id is not a positive integer'
                  : trustedChainId !== undefined && anchor.chain_id !== trustedChainId
                    ? `on chain ${anchor.chain_id}, not the trusted chain ${trustedChainId}`
                    : !isChecksummed(anchor.from_address)
                      ? 'from_address is not an EIP-55 checksummed address'
                      : trustedAnchorAddress !== undefined && anchor.from_address !== trustedAnchorAddress
                        ? 'sent from another address than the trusted anchor address'
                        : !isTimestamp(anchor.created_at)
                          ? 'created_at is not an ISO 8601 UTC timestamp'
                          : undefined;
        if (offline) {
          fail({ ...where, message: offline });
          continue;
        }
        if (!chain || !checkpoint) continue;
        try {
          const { provider, chainId: onChain } = await chain.provider();
          if (trustedChainId !== undefined && onChain !== trustedChainId)
            throw new Error(
              `the RPC endpoint is on chain ${onChain}, not the trusted chain ${trustedChainId}`,
            );
          if (anchor.chain_id !== onChain)
            throw new Error(`chain_id ${anchor.chain_id} is not the endpoint's chain ${onChain}`);
          const expected = encodeAnchorData(origin, checkpoint.size, checkpoint.root);
          const tx = await provider.getTransaction(anchor.tx_hash);
          if (!tx) throw new Error('transaction not found on chain');
          if (!equalHashes(getBytes(tx.data), expected))
            throw new Error('transaction data does not commit to this checkpoint');
          if (tx.from !== anchor.from_address) throw new Error('sent from another address');
          const receipt = await provider.getTransactionReceipt(anchor.tx_hash);
          if (!receipt || receipt.status !== 1) throw new Error('transaction did not succeed');
          if (receipt.blockNumber !== anchor.block_number)
            throw new Error(`mined in block ${receipt.blockNumber}, not ${anchor.block_number}`);
          const depth = (await chain.head()) - receipt.blockNumber + 1;
          report.confirmations = depth;
          if (minConfirmations !== undefined && depth < minConfirmations)
            throw new Error(
              `${depth} confirmation${depth === 1 ? '' : 's'}, fewer than the ${minConfirmations} required`,
            );
        } catch (err) {
          // The endpoint's errors without its URL (ethers' carry it): a report is often passed on.
          fail({ ...where, message: describeRpcError(err, options.rpcUrl!) });
        }
      } finally {
        anchorChecks.push({ ...report, ok: failures.length === failuresBefore });
      }
    }
  } finally {
    chain?.destroy();
  }
  if (bundle.anchors.length > 0) {
    unverified.push('anchors[].created_at (not signed)');
    if (!chain)
      unverified.push('anchors[].tx_hash, block_number, chain_id (not looked up on chain: no RPC endpoint)');
    else if (trustedChainId === undefined)
      unverified.push(
        'anchors[].chain_id (not pinned: the chain is whichever the RPC endpoint serves; give the trusted chain id)',
      );
    if (trustedAnchorAddress === undefined)
      unverified.push('anchors[].from_address (not pinned: give the trusted anchor address to check it)');
  }
  return result(chain !== undefined);
}

/**
 * The endpoint, asked once for its chain id (eth_chainId) and then used as a provider on that chain, and its
 * head block, asked once. ethers is given the network rather than left to detect it: detection it retries
 * every second, printing to stdout, while the endpoint cannot be reached.
 */
function anchorChain(rpcUrl: string, timeoutMs: number) {
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new TypeError('rpcTimeoutMs must be >= 1');
  // ethers otherwise waits five minutes for each answer: an endpoint that accepts connections and never
  // answers would hold the verifier that long.
  const request = () => {
    const r = new FetchRequest(rpcUrl);
    r.timeout = timeoutMs;
    return r;
  };
  let provider: JsonRpcProvider | undefined;
  let connected: Promise<{ provider: JsonRpcProvider; chainId: number }> | undefined;
  let head: Promise<number> | undefined;
  const connect = async () => {
    const ask = request();
    ask.body = { jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] };
    const response = await ask.send();
    response.assertOk();
    const answer = (response.bodyJson as { result?: unknown; error?: { message?: unknown } } | null) ?? {};
    if (typeof answer.result !== 'string' || !/^0x[0-9a-f]+$/i.test(answer.result))
      throw new Error(
        `eth_chainId: ${typeof answer.error?.message === 'string' ? answer.error.message : 'no chain id'}`,
      );
    const chainId = Number(BigInt(answer.result));
    const network = Network.from(chainId);
    provider = new JsonRpcProvider(request(), network, { staticNetwork: network });
    return { provider, chainId };
  };
  return {
    provider: () => (connected ??= connect()),
    head: () => (head ??= connected!.then(({ provider: p }) => p.getBlockNumber())),
    destroy: () => provider?.destroy(),
  };
}
