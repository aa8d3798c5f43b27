// Ledger benchmark: in-process append throughput and latency (1, 16, 64 concurrent clients), proof latency
// and storage per entry at 1,000,000 entries, and verifier throughput, on the machine's real PostgreSQL.
// Run: npx tsx bench/ledger/ledger-bench.ts [--entries 1000000] [--seconds 5]
// Writes bench/results/ledger.md. The HTTP part is wired by the server's own benchmark.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import {
  createLedger,
  verifyBundle,
  type InclusionProof,
  type Ledger,
  type LedgerTables,
} from '../../ledger/index.ts';
import { MAX_RANGE } from '../../ledger/store/reader.ts';
import { openDatabase } from '../../server/db/database.ts';
import { migrateToLatest } from '../../server/db/migrate.ts';
import { measureVerifier } from './verifier.ts';

const { values } = parseArgs({
  options: { entries: { type: 'string', default: '1000000' }, seconds: { type: 'string', default: '5' } },
});
const TOTAL = Number(values.entries);
const SECONDS = Number(values.seconds);
const ADMIN_URL = process.env.ARBITER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const KEYS = {
  ed25519Seed: randomBytes(32).toString('hex'),
  secp256k1PrivateKey: `0x${randomBytes(32).toString('hex')}`,
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const ms = (v: number) => v.toFixed(2);

async function appendRun(ledger: Ledger, clients: number): Promise<{ row: string; rate: number }> {
  const latencies: number[] = [];
  const deadline = performance.now() + SECONDS * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const t = performance.now();
        await ledger.append('bench', {
          type: 'decision',
          client: c,
          n,
          model: 'credit-scoring',
          outcome: 'allow',
        });
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const rate = Math.round(latencies.length / seconds);
  console.log(
    `append clients=${clients}: ${rate}/s p50 ${ms(percentile(latencies, 50))} p99 ${ms(percentile(latencies, 99))}`,
  );
  const row = `| ${clients} | ${latencies.length} | ${rate} | ${ms(percentile(latencies, 50))} | ${ms(percentile(latencies, 99))} |`;
  return { row, rate };
}

async function timed<T>(
  samples: number,
  fn: (i: number) => Promise<T>,
): Promise<{ p50: number; p99: number; last: T }> {
  const times: number[] = [];
  let last!: T;
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    last = await fn(i);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), last };
}

async function main(): Promise<void> {
  const loadAtStart = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
  const name = `arbiter_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();
  const handle = await openDatabase({ databaseUrl: url, dataDir: '', poolSize: 10 });
  const lines: string[] = [];
  try {
    await migrateToLatest(handle.db);
    const db = handle.db as unknown as Kysely<LedgerTables>;

    // 1. Appends through the ledger API, background integration running as in production.
    const appendLedger = await createLedger({
      db,
      logs: [{ region: 'bench', origin: 'bench.example/append' }],
      keys: KEYS,
    });
    appendLedger.start();
    const appendRows: string[] = [];
    const appendRates: number[] = [];
    for (const clients of [1, 16, 64]) {
      const { row, rate } = await appendRun(appendLedger, clients);
      appendRows.push(row);
      appendRates.push(rate);
    }
    await appendLedger.stop();

    // 2. A 1M-entry log: entries bulk-loaded in SQL (canonical JSON, leaf = sha256(0x00 || body)), then
    // integrated by the ledger itself (stores every tree hash and signs the checkpoint).
    const big = await createLedger({
      db,
      logs: [{ region: 'big', origin: 'bench.example/big' }],
      keys: KEYS,
    });
    const { id } = await db
      .selectFrom('ledger_log')
      .select('id')
      .where('region', '=', 'big')
      .executeTakeFirstOrThrow();
    let t = performance.now();
    for (let from = 0; from < TOTAL; from += 100_000) {
      const to = Math.min(from + 100_000, TOTAL);
      await sql`
        insert into ledger_entry (log_id, seq, entry_type, leaf_hash, body)
        select ${id}, i, 'decision', sha256('\\x00'::bytea || b), b
        from (select i, convert_to('{"n":' || i || ',"outcome":"allow","type":"decision"}', 'UTF8') as b
              from generate_series(${from}::bigint, ${to - 1}::bigint) as i) s`.execute(db);
    }
    const loadSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const head = await big.integrate('big');
    const integrateSeconds = (performance.now() - t) / 1000;
    console.log(
      `loaded ${TOTAL} in ${loadSeconds.toFixed(1)} s, integrated in ${integrateSeconds.toFixed(1)} s`,
    );

    const { rows } = await sql<{ table: string; bytes: string }>`
      select relname as table, pg_total_relation_size(oid)::text as bytes from pg_class
      where relname in ('ledger_entry', 'ledger_hash', 'ledger_checkpoint')`.execute(db);
    // Only the big log's share: it holds TOTAL of the entries in ledger_entry and its hashes.
    const counts = await sql<{ entries: string; hashes: string }>`
      select (select count(*) from ledger_entry)::text as entries, (select count(*) from ledger_hash)::text as hashes`.execute(
      db,
    );
    const totalEntries = Number(counts.rows[0]!.entries);
    const storage = rows
      .map((r) => `${r.table} ${(Number(r.bytes) / totalEntries).toFixed(1)} B/entry`)
      .join(', ');
    const perEntry = rows.reduce((sum, r) => sum + Number(r.bytes), 0) / totalEntries;

    const rand = (n: number) => Math.floor(Math.random() * n);
    const incl = await timed(2000, () => big.reader.inclusionProof('big', rand(head.size), head.size));
    const cons = await timed(2000, () =>
      big.reader.consistencyProof('big', 1 + rand(head.size - 1), head.size),
    );
    console.log(
      `inclusion p50 ${ms(incl.p50)} p99 ${ms(incl.p99)}; consistency p50 ${ms(cons.p50)} p99 ${ms(cons.p99)}`,
    );

    // 3. Verifier throughput on real proofs from the 1M tree: 200 random leaves' proofs one by one, and the
    //    largest audit bundle the server exports (10,000 consecutive entries), its proofs as `arbiter verify`
    //    checks them and then the whole bundle through verifyBundle (entries, signatures, consistency).
    const proofs: InclusionProof[] = [];
    for (let i = 0; i < 200; i++)
      proofs.push(await big.reader.inclusionProof('big', rand(head.size), head.size));
    const from = rand(head.size - MAX_RANGE);
    const bundle = await big.reader.bundle('big', from, from + MAX_RANGE);
    const verifier = measureVerifier(
      proofs,
      head.root,
      {
        proofs: bundle.inclusion_proofs,
        roots: new Map(bundle.checkpoints.map((c) => [c.size, c.root])),
      },
      SECONDS,
    );
    const verifyRate = verifier.rate;
    const hashingMicros = verifier.hashesPerProof * verifier.nodeHashMicros;
    const trees = [...new Set(bundle.inclusion_proofs.map((p) => p.size))].join(', ');
    const bundleStart = performance.now();
    const report = await verifyBundle(bundle);
    const bundleSeconds = (performance.now() - bundleStart) / 1000;
    if (!report.ok) throw new Error(`the bundle did not verify: ${JSON.stringify(report.failures[0])}`);
    console.log(
      `verifier ${verifyRate} independent inclusion proofs/s (${verifier.hashesPerProof.toFixed(1)} hashes per proof, ${verifier.nodeHashMicros.toFixed(2)} µs per node hash); ${verifier.bundleRate} proofs/s of a ${MAX_RANGE}-entry bundle; verifyBundle ${bundleSeconds.toFixed(2)} s`,
    );
    await big.stop();

    const pgVersion = (await sql<{ v: string }>`select current_setting('server_version') as v`.execute(db))
      .rows[0]!.v;
    lines.push(
      '# Ledger benchmark',
      '',
      `Command: \`npx tsx bench/ledger/ledger-bench.ts --entries ${TOTAL} --seconds ${SECONDS}\``,
      `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM,`,
      `Node ${process.version}, PostgreSQL ${pgVersion} on 127.0.0.1 (default settings, synchronous_commit on).`,
      `Date: ${new Date().toISOString()}. Load average at start ${loadAtStart}, at end ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ')}: other processes on the machine count in these figures, p99 most.`,
      '',
      '## Append (in-process `ledger.append`, durable: resolves after COMMIT; background integration on)',
      '',
      '| concurrent clients | appends | appends/s | p50 ms | p99 ms |',
      '| --- | --- | --- | --- | --- |',
      ...appendRows,
      '',
      `## Proofs at ${TOTAL.toLocaleString('en-US')} entries (\`reader.*Proof\`, 2,000 random samples each, sequential)`,
      '',
      `Bulk load ${loadSeconds.toFixed(1)} s (SQL), integration of all entries by the ledger ${integrateSeconds.toFixed(1)} s.`,
      '',
      '| proof | p50 ms | p99 ms | hashes |',
      '| --- | --- | --- | --- |',
      `| inclusion (seq random, size ${head.size}) | ${ms(incl.p50)} | ${ms(incl.p99)} | ${incl.last.proof.length} |`,
      `| consistency (from random, to ${head.size}) | ${ms(cons.p50)} | ${ms(cons.p99)} | ${cons.last.proof.length} |`,
      '',
      `Storage: ${perEntry.toFixed(1)} bytes per entry in total (tables + indexes, all logs; ${storage};`,
      `${counts.rows[0]!.hashes} stored hashes for ${totalEntries} entries). Entry bodies here are ~45 bytes of JSON.`,
      '',
      "## Against the issue's targets (2-core machine)",
      '',
      `- ≥ 5,000 durable appends/s: best ${Math.max(...appendRates)}/s (64 clients) → ${Math.max(...appendRates) >= 5000 ? 'met' : 'not met'}.`,
      `- proof p99 < 5 ms at 1M entries: inclusion ${ms(incl.p99)} ms, consistency ${ms(cons.p99)} ms → ${Math.max(incl.p99, cons.p99) < 5 ? 'met' : 'not met'}.`,
      `- ≥ 50,000 verified inclusion proofs/s: ${verifyRate}/s for independent proofs → ${verifyRate >= 50_000 ? 'met' : 'not met'} (one core; a node hash costs ${verifier.nodeHashMicros.toFixed(2)} µs here, so a proof is ~${hashingMicros.toFixed(0)} µs of hashing out of ${(1e6 / verifyRate).toFixed(0)} µs); ${verifier.bundleRate}/s for a bundle's proofs → ${verifier.bundleRate >= 50_000 ? 'met' : 'not met'}.`,
      '',
      '## Verifier (one core)',
      '',
      `- Independent proofs: \`verifyInclusion\` on 200 real proofs of random leaves (${verifier.hashesPerProof.toFixed(1)} hashes each) from the ${TOTAL.toLocaleString('en-US')}-entry tree: **${verifyRate.toLocaleString('en-US')} proofs/s** (${verifier.nodeHashMicros.toFixed(2)} µs per SHA-256 node hash, timed in the same run).`,
      `- A bundle's proofs: the ${MAX_RANGE.toLocaleString('en-US')} inclusion proofs of \`reader.bundle('big', ${from}, ${from + MAX_RANGE})\` (consecutive entries; the largest bundle the server exports), against the signed trees the bundle names (${trees}), checked as \`arbiter verify\` checks them, one \`InclusionVerifier\` per signed tree, new each round: **${verifier.bundleRate.toLocaleString('en-US')} proofs/s**.`,
      `- The whole bundle through \`verifyBundle\` (leaf hashes, RFC 8785 re-serialization of every entry, proofs, checkpoint signatures, consistency): ${bundleSeconds.toFixed(2)} s, ${Math.round(MAX_RANGE / bundleSeconds).toLocaleString('en-US')} entries/s.`,
      '',
    );
  } catch (err) {
    // Printed here: dropping the database below ends the ledger's connections, and their errors would hide it.
    console.error(err);
    process.exitCode = 1;
    throw err;
  } finally {
    await handle.close();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
  await writeFile(new URL('../results/ledger.md', import.meta.url), lines.join('\n'));
  console.log('wrote bench/results/ledger.md');
}

await main();
