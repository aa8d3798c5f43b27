import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Wallet } from 'ethers';
import { LedgerError } from '../errors.ts';

/** Where the ledger's signing keys come from: files in a data dir (created on first start), or given. */
export type LedgerKeysOption =
  { readonly dataDir: string } | { readonly ed25519Seed: string; readonly secp256k1PrivateKey: string };

export interface LedgerKeys {
  /** 32-byte Ed25519 seed; the note key name is each log's origin. */
  readonly ed25519Seed: Uint8Array;
  /** The EIP-191 checkpoint signer. */
  readonly wallet: Wallet;
}

const ED25519_FILE = 'ledger-ed25519.key';
const SECP256K1_FILE = 'ledger-secp256k1.key';

function parseSeed(text: string): Uint8Array {
  const hex = text.trim().replace(/^0x/, '');
  if (!/^[0-9a-fA-F]{64}$/.test(hex))
    throw new LedgerError('LEDGER_KEY_INVALID', 'Ed25519 seed must be 32 bytes hex');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function parseWallet(text: string): Wallet {
  const hex = text.trim();
  try {
    return new Wallet(hex.startsWith('0x') ? hex : `0x${hex}`);
  } catch (err) {
    throw new LedgerError('LEDGER_KEY_INVALID', 'secp256k1 key must be 32 bytes hex', { cause: err });
  }
}

// Creates the file only if absent ('wx'), so two processes starting at once cannot overwrite each other's key:
// the loser reads the winner's file.
async function readOrCreate(file: string, create: () => string): Promise<string> {
  try {
    await writeFile(file, create(), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const { mode } = await stat(file);
  // A signing key others can read is a key others can sign with.
  if ((mode & 0o077) !== 0)
    throw new LedgerError(
      'LEDGER_KEY_INVALID',
      `${file} is readable by others (mode ${(mode & 0o777).toString(8)})`,
    );
  return readFile(file, 'utf8');
}

export async function loadLedgerKeys(option: LedgerKeysOption): Promise<LedgerKeys> {
  if ('ed25519Seed' in option)
    return { ed25519Seed: parseSeed(option.ed25519Seed), wallet: parseWallet(option.secp256k1PrivateKey) };
  await mkdir(option.dataDir, { recursive: true, mode: 0o700 });
  const seed = await readOrCreate(
    path.join(option.dataDir, ED25519_FILE),
    () => `${randomBytes(32).toString('hex')}\n`,
  );
  const key = await readOrCreate(
    path.join(option.dataDir, SECP256K1_FILE),
    () => `${Wallet.createRandom().privateKey}\n`,
  );
  return { ed25519Seed: parseSeed(seed), wallet: parseWallet(key) };
}
