import type { Command } from 'commander';

import { LocalTokens, type TokenView } from '../auth/local-tokens.ts';
import { openDatabase, tablesOf } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import type { Role, ServerTables } from '../db/schema.ts';
import { callApi, serverTarget } from './client.ts';
import { configFrom, withDatabaseOptions } from './options.ts';
import { CliFailure } from './output.ts';

const ROLES: readonly Role[] = ['admin', 'ci', 'compliance_officer', 'auditor'];

interface Flags {
  server?: string;
  token?: string;
  dataDir?: string;
  databaseUrl?: string;
}

/** What `--expires` takes, as its help and its errors say. */
export const EXPIRY_FORMS = '30d, 12h, 90m, or an RFC 3339 date-time with its offset (2027-01-31T00:00:00Z)';

// RFC 3339 §5.6 date-time: seconds and an offset (Z or ±hh:mm) are required, so that no reading depends on
// the local time zone of whoever runs the command.
const RFC3339_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * `--expires`: `30d`, `12h`, `90m` from `now`, or an RFC 3339 date-time with its offset. Anything else is a
 * usage error (exit 2), and so is a date or time that does not exist (2027-02-30, 24:00:00, a leap second):
 * `new Date` would read an offset-less time in the local zone, roll February 30 over to March 2, and take
 * "Jan 31 2027".
 */
export function parseExpiry(value: string, now = new Date()): Date {
  const relative = /^(\d+)([dhm])$/.exec(value);
  if (relative) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[relative[2] as 'd' | 'h' | 'm'];
    const date = new Date(now.getTime() + Number(relative[1]) * unit);
    if (Number.isNaN(date.getTime())) throw new CliFailure(`--expires ${value}: too far ahead`);
    return date;
  }
  const match = RFC3339_DATE_TIME.exec(value);
  if (!match) throw new CliFailure(`--expires ${value}: use ${EXPIRY_FORMS}`);
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const millis = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const offsetHours = Number(match[9] ?? 0);
  const offsetMinutes = Number(match[10] ?? 0);
  const utc = new Date(0);
  // setUTCFullYear, not Date.UTC, which reads years 0–99 as 1900–1999.
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, millis);
  const exists =
    utc.getUTCFullYear() === year &&
    utc.getUTCMonth() === month - 1 &&
    utc.getUTCDate() === day &&
    utc.getUTCHours() === hour &&
    utc.getUTCMinutes() === minute &&
    utc.getUTCSeconds() === second &&
    offsetHours <= 23 &&
    offsetMinutes <= 59;
  if (!exists) throw new CliFailure(`--expires ${value}: no such date and time`);
  const sign = match[8] === '-' ? -1 : 1;
  return new Date(utc.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000);
}

/** Runs `work` on the database directly (when no server is named): the embedded one must not be held. */
async function withLocalTokens<T>(flags: Flags, work: (tokens: LocalTokens) => Promise<T>): Promise<T> {
  const database = await openDatabase({ ...configFrom(flags) });
  try {
    await migrateToLatest(database.db);
    return await work(new LocalTokens(tablesOf<ServerTables>(database.db)));
  } finally {
    await database.close();
  }
}

function withTarget(command: Command): Command {
  return withDatabaseOptions(
    command
      .option(
        '--server <url>',
        'a running Arbiter (ARBITER_SERVER); without it, the database is used directly',
      )
      .option('--token <token>', 'API token for --server (ARBITER_TOKEN)'),
  );
}

function printTokens(tokens: TokenView[]): void {
  for (const t of tokens) {
    const state = t.revoked_at
      ? 'revoked'
      : t.expires_at && new Date(t.expires_at) <= new Date()
        ? 'expired'
        : 'active';
    console.log([t.id, t.role.padEnd(18), state.padEnd(8), t.name].join('  '));
  }
}

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('manage local API tokens (admin)');

  withTarget(
    token
      .command('create')
      .description('create a token and print it once')
      .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
      .option('--name <name>', 'what the token is for')
      .option('--expires <when>', `expiry: ${EXPIRY_FORMS}`),
  ).action(async (flags: Flags & { role: string; name?: string; expires?: string }) => {
    if (!ROLES.includes(flags.role as Role))
      throw new CliFailure(`--role ${flags.role}: use one of ${ROLES.join(', ')}`);
    const role = flags.role as Role;
    const expiresAt = flags.expires ? parseExpiry(flags.expires) : undefined;
    const target = serverTarget(flags);
    const created = target
      ? await callApi<{ id: string; token: string }>(target, 'POST', '/v1/tokens', {
          role,
          name: flags.name,
          expires_at: expiresAt?.toISOString(),
        })
      : await withLocalTokens(flags, (t) =>
          t.create({ role, name: flags.name, expiresAt, createdBy: 'cli' }),
        );
    console.error(`created ${created.id} (${role}); the token is shown only now:`);
    console.log(created.token);
  });

  withTarget(token.command('list').description('list tokens (never their secrets)')).action(
    async (flags: Flags) => {
      const target = serverTarget(flags);
      printTokens(
        target
          ? (await callApi<{ tokens: TokenView[] }>(target, 'GET', '/v1/tokens')).tokens
          : await withLocalTokens(flags, (t) => t.list()),
      );
    },
  );

  withTarget(
    token.command('revoke').description('revoke a token').argument('<id>', 'token id (tok_…)'),
  ).action(async (id: string, flags: Flags) => {
    const target = serverTarget(flags);
    if (target) await callApi(target, 'DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
    else if (!(await withLocalTokens(flags, (t) => t.revoke(id))))
      throw new CliFailure(`no active token ${id}`);
    console.log(`revoked ${id}`);
  });
}
