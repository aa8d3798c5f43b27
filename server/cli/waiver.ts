import type { Command } from 'commander';
import { callApi, requireServerTarget } from './client.ts';
import { CliFailure, printable } from './output.ts';
import { EXPIRY_FORMS, parseExpiry } from './token.ts';

const STATUSES = ['requested', 'approved', 'rejected', 'expired', 'revoked'] as const;

interface Flags {
  server?: string;
  token?: string;
  json?: boolean;
}

/** A waiver as the API answers it (GET /v1/waivers, and each change with its ledger receipt). */
interface WaiverView {
  id: string;
  rule: string;
  model: string;
  version?: string | null;
  region: string;
  status: string;
  expires_at: string;
  requested_by: string;
  decided_by: string | null;
  revoked_by?: string | null;
  ledger?: { region: string; seq: number };
}

// Waivers are decided by people the service knows (four eyes, the caller's scope), so every command goes
// through a running service, never the database directly.
function withServer(command: Command): Command {
  return command
    .option('--server <url>', 'the Arbiter service (ARBITER_SERVER)')
    .option('--token <token>', 'API token (ARBITER_TOKEN, or the one `arbiter login` cached)')
    .option('--json', 'print JSON');
}

/** `credit-scoring` for every version, `credit-scoring 2.0.0` for one. */
const modelOf = (waiver: WaiverView) => (waiver.version ? `${waiver.model} ${waiver.version}` : waiver.model);

function print(waiver: WaiverView, json: boolean | undefined): void {
  if (json) {
    console.log(JSON.stringify(waiver, null, 2));
    return;
  }
  const receipt = waiver.ledger ? `; ledger ${waiver.ledger.region}#${waiver.ledger.seq}` : '';
  console.log(
    printable(
      `waiver ${waiver.id}: ${waiver.status} (${waiver.rule} for ${modelOf(waiver)} in ${waiver.region}, ` +
        `expires ${waiver.expires_at})${receipt}`,
    ),
  );
}

/** `arbiter waiver list | request | approve | reject | revoke`, through a running service. */
export function registerWaiverCommands(program: Command): void {
  const waiver = program
    .command('waiver')
    .description('exceptions to one rule for one model in one region: request, decide, revoke, list');

  withServer(
    waiver
      .command('list')
      .description('list waivers as they stand now (within your scope)')
      .option('--model <name>', 'only this model')
      .option('--region <region>', 'only this region')
      .option('--status <status>', `only this status: ${STATUSES.join(', ')}`),
  ).action(async (flags: Flags & { model?: string; region?: string; status?: string }) => {
    if (flags.status && !(STATUSES as readonly string[]).includes(flags.status))
      throw new CliFailure(`--status ${flags.status}: use one of ${STATUSES.join(', ')}`);
    const query = new URLSearchParams(
      Object.entries({ model: flags.model, region: flags.region, status: flags.status }).filter(
        (e): e is [string, string] => e[1] !== undefined,
      ),
    );
    const { waivers } = await callApi<{ waivers: WaiverView[] }>(
      requireServerTarget(flags),
      'GET',
      `/v1/waivers${query.size > 0 ? `?${query}` : ''}`,
    );
    if (flags.json) console.log(JSON.stringify(waivers, null, 2));
    else
      for (const w of waivers)
        console.log(
          printable(
            [
              w.id,
              w.status.padEnd(9),
              w.rule.padEnd(20),
              modelOf(w),
              w.region,
              `expires ${w.expires_at}`,
              `requested by ${w.requested_by}`,
              w.decided_by ? `decided by ${w.decided_by}` : '',
              w.revoked_by ? `revoked by ${w.revoked_by}` : '',
            ]
              .filter(Boolean)
              .join('  '),
          ),
        );
  });

  withServer(
    waiver
      .command('request')
      .description('request a waiver; a compliance officer other than you approves it')
      .requiredOption('--rule <id>', 'the rule id, e.g. FAIR-IMPACT-RATIO')
      .requiredOption('--model <name>', 'the model')
      .option('--model-version <version>', 'only this version of the model (default: every version)')
      .requiredOption('--region <region>', 'the region')
      .requiredOption('--reason <text>', 'why the exception is needed (10 characters or more)')
      .requiredOption('--expires <when>', `expiry: ${EXPIRY_FORMS}; at most 366 days ahead`),
  ).action(
    async (
      flags: Flags & {
        rule: string;
        model: string;
        modelVersion?: string;
        region: string;
        reason: string;
        expires: string;
      },
    ) => {
      const requested = await callApi<WaiverView>(requireServerTarget(flags), 'POST', '/v1/waivers', {
        rule: flags.rule,
        model: flags.model,
        ...(flags.modelVersion === undefined ? {} : { version: flags.modelVersion }),
        region: flags.region,
        reason: flags.reason,
        expires_at: parseExpiry(flags.expires).toISOString(),
      });
      print(requested, flags.json);
    },
  );

  const change = (name: 'approve' | 'reject' | 'revoke', description: string, noteRequired: boolean) => {
    const command = waiver.command(name).description(description).argument('<id>', 'waiver id');
    if (noteRequired) command.requiredOption('--note <text>', 'why (10 characters or more)');
    else command.option('--note <text>', 'a note for the record');
    withServer(command).action(async (id: string, flags: Flags & { note?: string }) => {
      const changed = await callApi<WaiverView>(
        requireServerTarget(flags),
        'POST',
        `/v1/waivers/${encodeURIComponent(id)}/${name}`,
        flags.note === undefined ? {} : { note: flags.note },
      );
      print(changed, flags.json);
    });
  };
  change('approve', 'approve a requested waiver (a compliance officer, not its requester)', false);
  change('reject', 'reject a requested waiver (a compliance officer)', false);
  change('revoke', 'revoke an approved waiver before its expiry, saying why (a compliance officer)', true);
}
