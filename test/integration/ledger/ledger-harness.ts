import { sql, type Kysely } from 'kysely';
import type { LedgerTables } from '../../../ledger/index.ts';

// Test-only keys (never used outside tests).
export const TEST_KEYS = {
  ed25519Seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  secp256k1PrivateKey: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
} as const;

/** A test log for a region, with the origin the tests give every region. */
export const logOf = (region: string) => ({ region, origin: `arbiter.example/${region}` });

/** Runs `statements` as the superuser with triggers off, the way an attacker with database access would. */
export async function tamper(db: Kysely<LedgerTables>, statement: ReturnType<typeof sql>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`set local session_replication_role = replica`.execute(trx);
    await statement.execute(trx);
  });
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
