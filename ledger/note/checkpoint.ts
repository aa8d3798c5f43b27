import { LedgerError } from '../errors.ts';

// C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): "<origin>\n<size>\n<base64 root>\n[extensions]".

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Uint8Array;
  readonly extensions: readonly string[];
}

export function formatCheckpoint(checkpoint: { origin: string; size: number; root: Uint8Array }): string {
  return `${checkpoint.origin}\n${checkpoint.size}\n${Buffer.from(checkpoint.root).toString('base64')}\n`;
}

/** Parses checkpoint text (the signed part of the note). Untrusted input: every field is checked. */
export function parseCheckpoint(text: string): Checkpoint {
  const bad = (why: string) => new LedgerError('LEDGER_CHECKPOINT_INVALID', `checkpoint ${why}`);
  if (!text.endsWith('\n')) throw bad('must end in a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw bad('needs origin, size and root lines');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw bad('has an empty origin');
  // Decimal without leading zeros, and small enough to do arithmetic on.
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText)))
    throw bad('size is not a decimal integer');
  const root = Buffer.from(rootText, 'base64');
  if (root.length !== 32 || root.toString('base64') !== rootText)
    throw bad('root is not a base64 32-byte hash');
  if (extensions.some((e) => e.length === 0)) throw bad('has an empty extension line');
  return { origin, size: Number(sizeText), root: new Uint8Array(root), extensions };
}
