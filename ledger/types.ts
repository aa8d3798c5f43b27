// JSON shapes the ledger serves (the HTTP API returns them as they are). Hashes are lowercase hex.

export interface TreeHead {
  readonly region: string;
  readonly origin: string;
  readonly size: number;
  /** lowercase hex */
  readonly root: string;
}

export interface Sequenced {
  readonly region: string;
  readonly seq: number;
  /** lowercase hex */
  readonly leafHash: string;
}

export interface PublicKeys {
  readonly origin: string;
  /** C2SP signed-note verifier key text. */
  readonly ed25519_vkey: string;
  /** Checksummed Ethereum address of the EIP-191 checkpoint signer. */
  readonly eip191_address: string;
}

export interface EntryRecord {
  readonly seq: number;
  readonly leaf_hash: string;
  readonly entry: Record<string, unknown>;
  /** The exact bytes that were hashed (RFC 8785 JSON), base64. */
  readonly entry_b64: string;
}

export interface InclusionProof {
  readonly seq: number;
  readonly size: number;
  readonly leaf_hash: string;
  readonly proof: readonly string[];
}

export interface ConsistencyProof {
  readonly from: number;
  readonly to: number;
  readonly proof: readonly string[];
}

export interface CheckpointRecord {
  readonly size: number;
  readonly root: string;
  /** The C2SP signed note (checkpoint text + Ed25519 signature line). */
  readonly note: string;
  /** EIP-191 signature (0x hex, 65 bytes) over the checkpoint text. */
  readonly eip191_signature: string;
  readonly created_at: string;
}

export interface AnchorRecord {
  readonly size: number;
  readonly root: string;
  readonly chain_id: number;
  readonly tx_hash: string;
  readonly block_number: number;
  /** 1 = success, 0 = reverted (receipt status). */
  readonly status: number;
  readonly from_address: string;
  readonly created_at: string;
}

/** An audit bundle: everything needed to check a range of entries offline (see ledger/README.md). */
export interface AuditBundle {
  readonly format: 'arbiter.ledger.bundle/v1';
  readonly region: string;
  readonly origin: string;
  readonly keys: PublicKeys;
  /** Entries [from, to). */
  readonly from: number;
  readonly to: number;
  readonly entries: readonly EntryRecord[];
  /**
   * Earlier entries (seq < from, ascending) that entries of the range refer to, as the bundle's requester
   * chose them: the policy activations its decisions were made under, say. Each is proven against the head
   * checkpoint. Absent from bundles written before the field existed.
   */
  readonly cited?: readonly EntryRecord[];
  /** Ascending by size; each entry is proven against the first checkpoint that covers it. */
  readonly checkpoints: readonly CheckpointRecord[];
  readonly inclusion_proofs: readonly InclusionProof[];
  /** Between consecutive checkpoints (and from `trusted_size` when asked). */
  readonly consistency_proofs: readonly ConsistencyProof[];
  readonly anchors: readonly AnchorRecord[];
}
