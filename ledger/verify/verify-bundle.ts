import canonicalize from 'canonicalize';
import { JsonRpcProvider, getBytes } from 'ethers';
import { encodeAnchorData } from '../anchor/anchor-data.ts';
import { InclusionVerifier, equalHashes, hashLeaf, verifyConsistency } from '../merkle/index.ts';
import {
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  verifyCheckpointEip191,
  type Checkpoint,
  type NoteVerifier,
} from '../note/index.ts';
import type { AuditBundle } from '../types.ts';

// The offline verifier auditors run. No database and no network unless `rpcUrl` is given. Everything in the
// bundle is untrusted: sizes and roots are taken only from signed checkpoint text, never from the unsigned
// `size`/`root` fields next to it, and every failure is reported rather than thrown.

export interface VerifyBundleOptions {
  /** A checkpoint note the auditor already trusts; it must be consistent with the bundle's checkpoints. */
  readonly trustedCheckpoint?: string;
  /** The vkey the auditor trusts; when given, the bundle's own key must equal it. */
  readonly trustedVkey?: string;
  /** Check each anchor transaction on this EVM JSON-RPC endpoint. */
  readonly rpcUrl?: string;
}

export type VerificationCheck =
  'bundle' | 'entry' | 'inclusion' | 'checkpoint' | 'consistency' | 'trusted_checkpoint' | 'anchor';

export interface VerificationFailure {
  readonly check: VerificationCheck;
  readonly seq?: number;
  /** Checkpoint size the failure concerns. */
  readonly size?: number;
  /** Anchor transaction hash. */
  readonly anchor?: string;
  readonly message: string;
}

export interface VerificationReport {
  readonly ok: boolean;
  readonly origin: string;
  readonly checked: {
    readonly entries: number;
    readonly checkpoints: number;
    readonly consistencyProofs: number;
    readonly anchors: number;
  };
  /** True only when anchors were looked up on chain (rpcUrl given). */
  readonly anchorsCheckedOnChain: boolean;
  readonly failures: readonly VerificationFailure[];
}

const fromHex = (text: unknown): Uint8Array | undefined =>
  typeof text === 'string' && /^([0-9a-f]{2})*$/.test(text)
    ? new Uint8Array(Buffer.from(text, 'hex'))
    : undefined;
const hexHashes = (list: readonly unknown[]): Uint8Array[] | undefined => {
  const out = list.map(fromHex);
  return out.every((h): h is Uint8Array => h !== undefined) ? out : undefined;
};
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Verifies an audit bundle; never throws for bad bundle content, it reports it. */
export async function verifyBundle(
  bundle: AuditBundle,
  options: VerifyBundleOptions = {},
): Promise<VerificationReport> {
  const failures: VerificationFailure[] = [];
  const fail = (f: VerificationFailure) => failures.push(f);
  const origin = typeof bundle?.origin === 'string' ? bundle.origin : '';
  const checked = { entries: 0, checkpoints: 0, consistencyProofs: 0, anchors: 0 };
  const result = (anchorsCheckedOnChain: boolean): VerificationReport => ({
    ok: failures.length === 0,
    origin,
    checked,
    anchorsCheckedOnChain,
    failures,
  });

  if (
    bundle?.format !== 'arbiter.ledger.bundle/v1' ||
    ![
      bundle.entries,
      bundle.checkpoints,
      bundle.inclusion_proofs,
      bundle.consistency_proofs,
      bundle.anchors,
    ].every(Array.isArray)
  ) {
    fail({ check: 'bundle', message: 'not an arbiter.ledger.bundle/v1 document' });
    return result(false);
  }
  let verifier: NoteVerifier;
  try {
    verifier = parseVerifierKey(options.trustedVkey ?? bundle.keys.ed25519_vkey);
    if (options.trustedVkey !== undefined && bundle.keys.ed25519_vkey !== options.trustedVkey)
      fail({ check: 'bundle', message: 'the bundle names a different key than the trusted vkey' });
    if (verifier.name !== origin)
      fail({ check: 'bundle', message: 'key name differs from the bundle origin' });
  } catch (err) {
    fail({ check: 'bundle', message: `bad verifier key: ${message(err)}` });
    return result(false);
  }

  // Checkpoints: signature, origin, EIP-191 signature; keep the signed (size, root) pairs.
  const signed = new Map<number, Checkpoint>();
  let previous = -1;
  for (const cp of bundle.checkpoints) {
    checked.checkpoints++;
    try {
      const { text } = openNote(cp.note, [verifier]);
      const parsed = parseCheckpoint(text);
      if (parsed.origin !== origin) throw new Error(`origin ${parsed.origin} is not ${origin}`);
      if (parsed.size <= previous) throw new Error('checkpoints are not in ascending size order');
      if (!verifyCheckpointEip191(text, cp.eip191_signature, bundle.keys.eip191_address))
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

  // Entries: canonical bytes, leaf hash, inclusion in a signed checkpoint.
  const proofs = new Map(bundle.inclusion_proofs.map((p) => [p?.seq, p]));
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
  for (const entry of bundle.entries) {
    checked.entries++;
    const seq = entry?.seq;
    try {
      const body = Buffer.from(String(entry.entry_b64), 'base64');
      if (body.toString('base64') !== entry.entry_b64) throw new Error('entry_b64 is not base64');
      const leaf = hashLeaf(body);
      if (!equalHashes(leaf, fromHex(entry.leaf_hash) ?? new Uint8Array()))
        throw new Error('leaf hash is not SHA-256(0x00 || entry bytes)');
      if (entry.entry !== undefined && canonicalize(entry.entry) !== body.toString('utf8'))
        throw new Error('entry JSON does not match the hashed bytes');
      const proof = proofs.get(seq);
      if (!proof) throw new Error('no inclusion proof');
      const checkpoint = signed.get(proof.size);
      if (!checkpoint)
        throw new Error(`inclusion proof is against size ${proof.size}, which no valid checkpoint signs`);
      const path = Array.isArray(proof.proof) ? hexHashes(proof.proof) : undefined;
      if (!path) throw new Error('inclusion proof is not a list of hex hashes');
      inclusionVerifierOf(checkpoint).verify(seq, leaf, path);
    } catch (err) {
      fail({ check: 'entry', seq: typeof seq === 'number' ? seq : undefined, message: message(err) });
    }
  }

  // Consistency between consecutive signed checkpoints.
  const consistency = bundle.consistency_proofs;
  const checkConsistency = (old: Checkpoint, next: Checkpoint): string | undefined => {
    if (old.size === next.size)
      return equalHashes(old.root, next.root) ? undefined : 'same size, different roots';
    const proof = consistency.find((p) => p?.from === old.size && p?.to === next.size);
    if (!proof) return `no consistency proof from ${old.size} to ${next.size}`;
    checked.consistencyProofs++;
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
      const head = signed.get(sizes[sizes.length - 1] ?? -1);
      if (!head) throw new Error('the bundle has no valid checkpoint to compare with');
      const problem =
        trusted.size <= head.size ? checkConsistency(trusted, head) : checkConsistency(head, trusted);
      if (problem) throw new Error(problem);
    } catch (err) {
      fail({ check: 'trusted_checkpoint', message: message(err) });
    }
  }

  // Anchors: each must commit to a signed checkpoint; with rpcUrl, the transaction must be on chain.
  const provider = options.rpcUrl
    ? new JsonRpcProvider(options.rpcUrl, undefined, { staticNetwork: true })
    : undefined;
  try {
    for (const anchor of bundle.anchors) {
      checked.anchors++;
      const checkpoint = signed.get(anchor?.size);
      if (!checkpoint) {
        fail({
          check: 'anchor',
          anchor: anchor?.tx_hash,
          size: anchor?.size,
          message: 'anchors no valid checkpoint',
        });
        continue;
      }
      if (!provider) continue;
      try {
        const expected = encodeAnchorData(origin, checkpoint.size, checkpoint.root);
        const tx = await provider.getTransaction(anchor.tx_hash);
        if (!tx) throw new Error('transaction not found on chain');
        if (!equalHashes(getBytes(tx.data), expected))
          throw new Error('transaction data does not commit to this checkpoint');
        if (tx.from.toLowerCase() !== anchor.from_address.toLowerCase())
          throw new Error('sent from another address');
        const receipt = await provider.getTransactionReceipt(anchor.tx_hash);
        if (!receipt || receipt.status !== 1) throw new Error('transaction did not succeed');
        if (receipt.blockNumber !== anchor.block_number)
          throw new Error(`mined in block ${receipt.blockNumber}, not ${anchor.block_number}`);
      } catch (err) {
        fail({ check: 'anchor', anchor: anchor.tx_hash, size: anchor.size, message: message(err) });
      }
    }
  } finally {
    provider?.destroy();
  }
  return result(provider !== undefined);
}
