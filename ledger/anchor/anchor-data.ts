import { createHash } from 'node:crypto';

// The data of an anchor transaction (76 bytes), documented in ledger/README.md:
//   "ARB1" (4) || SHA-256(origin UTF-8) (32) || tree size uint64 big-endian (8) || RFC 6962 root (32)
// It commits to origin, size and root together: an inclusion proof does not bind the size, so a root alone
// would not pin what was anchored.
export const ANCHOR_MAGIC = Buffer.from('ARB1', 'ascii');
export const ANCHOR_DATA_BYTES = 76;

export function encodeAnchorData(origin: string, size: number, root: Uint8Array): Uint8Array {
  if (root.length !== 32) throw new TypeError('root must be 32 bytes');
  const sizeBytes = Buffer.alloc(8);
  sizeBytes.writeBigUInt64BE(BigInt(size));
  const originHash = createHash('sha256').update(origin, 'utf8').digest();
  return new Uint8Array(Buffer.concat([ANCHOR_MAGIC, originHash, sizeBytes, root]));
}
