import { createHash } from 'node:crypto';
import { LedgerError } from '../errors.ts';
import { ed25519FromSeed, ed25519Sign, ed25519Verify } from './ed25519.ts';

// C2SP signed-note (https://c2sp.org/signed-note): text, a blank line, then signature lines
// "— <key name> <base64(keyID[4] || signature)>\n". Key ID = SHA-256(name || "\n" || type || public key)[:4].

export const SIG_TYPE_ED25519 = 0x01;
const EM_DASH = '\u2014';
// Go's note package refuses notes with more signatures than this; the spec asks to accept at least 16.
const MAX_SIGNATURES = 100;

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  sign(message: Uint8Array): Uint8Array;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  readonly signature: Uint8Array;
}

export interface OpenedNote {
  /** The signed text, ending in "\n". */
  readonly text: string;
  /** Signatures that verified with a known key. */
  readonly verified: readonly NoteSignature[];
  /** Signatures from keys the verifier does not know (ignored, as the spec says). */
  readonly unverified: readonly NoteSignature[];
}

function noteError(message: string): LedgerError {
  return new LedgerError('LEDGER_CHECKPOINT_INVALID', message);
}

/** A key name: non-empty, no Unicode white space, no "+". */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && !/\p{Cc}/u.test(name);
}

export function keyId(name: string, sigType: number, publicKey: Uint8Array): number {
  const digest = createHash('sha256')
    .update(name)
    .update(Uint8Array.of(0x0a, sigType))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

const hex8 = (id: number): string => id.toString(16).padStart(8, '0');

/** Standard, padded base64 only; Buffer.from would silently skip garbage. */
function decodeBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? new Uint8Array(bytes) : undefined;
}

/** Verifier key text: `name+hex8(keyID)+base64(0x01 || public key)`. */
export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  const id = keyId(name, SIG_TYPE_ED25519, publicKey);
  return `${name}+${hex8(id)}+${Buffer.from([SIG_TYPE_ED25519, ...publicKey]).toString('base64')}`;
}

/** Parses an Ed25519 vkey; the base64 part may contain "+", so only the first two "+" separate fields. */
export function parseVerifierKey(vkey: string): NoteVerifier & { readonly publicKey: Uint8Array } {
  const first = vkey.indexOf('+');
  const second = vkey.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw new LedgerError('LEDGER_KEY_INVALID', 'vkey needs name+id+key');
  const name = vkey.slice(0, first);
  const idText = vkey.slice(first + 1, second);
  const key = decodeBase64(vkey.slice(second + 1));
  if (!isValidKeyName(name)) throw new LedgerError('LEDGER_KEY_INVALID', 'vkey has an invalid key name');
  if (!/^[0-9a-f]{8}$/.test(idText))
    throw new LedgerError('LEDGER_KEY_INVALID', 'vkey key ID is not 8 hex digits');
  if (!key || key.length !== 33 || key[0] !== SIG_TYPE_ED25519)
    throw new LedgerError('LEDGER_KEY_INVALID', 'vkey is not a 32-byte Ed25519 key');
  const publicKey = key.subarray(1);
  const id = keyId(name, SIG_TYPE_ED25519, publicKey);
  if (hex8(id) !== idText) throw new LedgerError('LEDGER_KEY_INVALID', 'vkey key ID does not match the key');
  return {
    name,
    keyId: id,
    publicKey,
    verify: (message, signature) => ed25519Verify(publicKey, message, signature),
  };
}

/** An Ed25519 note signer for `name` from a 32-byte seed. */
export function ed25519Signer(name: string, seed: Uint8Array): NoteSigner & { readonly vkey: string } {
  if (!isValidKeyName(name)) throw new TypeError(`invalid key name ${JSON.stringify(name)}`);
  const { privateKey, publicKey } = ed25519FromSeed(seed);
  return {
    name,
    keyId: keyId(name, SIG_TYPE_ED25519, publicKey),
    vkey: formatVerifierKey(name, publicKey),
    sign: (message) => ed25519Sign(privateKey, message),
  };
}

/** Go's test-only private key text `PRIVATE+KEY+name+hex8+base64(0x01 || seed)`. */
export function parseGoPrivateKey(skey: string): { name: string; seed: Uint8Array } {
  const parts = skey.split('+');
  if (parts.length < 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY')
    throw new TypeError('not a PRIVATE+KEY text');
  const key = decodeBase64(parts.slice(4).join('+'));
  if (!key || key.length !== 33 || key[0] !== SIG_TYPE_ED25519)
    throw new TypeError('not an Ed25519 private key');
  return { name: parts[2]!, seed: key.subarray(1) };
}

function checkText(text: string): void {
  if (!text.endsWith('\n')) throw noteError('note text must end in a newline');
  // The only control character a note may hold is "\n" (a blank line in the text is fine: notes split at the
  // last blank line).
  if (/[\p{Cc}]/u.test(text.replace(/\n/g, ''))) throw noteError('note text holds control characters');
}

/** Signs `text` with each signer and returns the note. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  checkText(text);
  const message = Buffer.from(text, 'utf8');
  const lines = signers.map((s) => {
    const id = Buffer.alloc(4);
    id.writeUInt32BE(s.keyId);
    return `${EM_DASH} ${s.name} ${Buffer.concat([id, s.sign(message)]).toString('base64')}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

/**
 * Opens a note: splits at the last blank line, checks every signature from a known (name, key ID) and rejects
 * the note when a known key's signature fails or when no known key signed it. `note` is untrusted input.
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): OpenedNote {
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw noteError('note has no signature block');
  const text = note.slice(0, split + 1);
  checkText(text);
  const block = note.slice(split + 2);
  if (!block.endsWith('\n')) throw noteError('signature block must end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw noteError('note has too many signatures');
  const message = Buffer.from(text, 'utf8');
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  for (const line of lines) {
    const match = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!match) throw noteError('malformed signature line');
    const name = match[1]!;
    const bytes = decodeBase64(match[2]!);
    if (!isValidKeyName(name) || !bytes || bytes.length < 5) throw noteError('malformed signature line');
    const sig: NoteSignature = {
      name,
      keyId: Buffer.from(bytes).readUInt32BE(0),
      signature: bytes.subarray(4),
    };
    const verifier = verifiers.find((v) => v.name === sig.name && v.keyId === sig.keyId);
    if (!verifier) {
      unverified.push(sig);
      continue;
    }
    if (!verifier.verify(message, sig.signature)) throw noteError(`signature by ${name} does not verify`);
    verified.push(sig);
  }
  if (verified.length === 0) throw noteError('note is not signed by any known key');
  return { text, verified, unverified };
}
