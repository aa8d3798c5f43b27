import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.ts';
import { registerCheckCommand } from './check.ts';
import { requestTimeoutHelp } from './client.ts';
import { registerDemoCommand } from './demo.ts';
import { registerEvaluateCommand } from './evaluate.ts';
import { registerLedgerCommands } from './ledger.ts';
import { registerLoginCommand } from './login.ts';
import { registerPolicyCommands } from './policy.ts';
import { registerReportCommands } from './report.ts';
import { registerServeCommand } from './serve.ts';
import { registerTokenCommands } from './token.ts';
import { registerVerifyCommand } from './verify.ts';
import { registerWaiverCommands } from './waiver.ts';
import { CliFailure } from './output.ts';

/** `arbiter policy test`, as the user types it. */
const commandPath = (command: Command): string =>
  command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name();

/**
 * A usage error (a missing option, an unknown one) is an error like the others: one line and exit code 2,
 * never 1, which `check` and `policy test` give to a denial and a failed test. Help and --version exit 0.
 */
function reportUsageErrors(command: Command): void {
  command
    .showHelpAfterError(false)
    .configureOutput({ outputError: () => {} })
    .exitOverride((err) => {
      // A command without its subcommand (`arbiter policy`) has already printed its help, which is the message.
      if (err.exitCode === 0 || err.code === 'commander.help') throw err;
      // "unknown command 'chek'\n(Did you mean check?)" on one line.
      const message = err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ');
      throw new CliFailure(`${message} (see ${commandPath(command)} --help)`);
    });
  for (const subcommand of command.commands) reportUsageErrors(subcommand);
}

const program = new Command('arbiter')
  .description('Policy-as-code governance for machine-learning models, with a verifiable audit ledger.')
  .version(VERSION, '-v, --version', 'print the version')
  // Root options only before the command: `arbiter check --version 1.2.0` names a model version.
  .enablePositionalOptions();

program
  .command('version')
  .description('print the version of Arbiter and of Node.js')
  .action(() => console.log(`arbiter ${VERSION} (node ${process.version})`));

registerServeCommand(program);
registerDemoCommand(program);
registerCheckCommand(program);
registerEvaluateCommand(program);
registerPolicyCommands(program);
registerReportCommands(program);
registerTokenCommands(program);
registerWaiverCommands(program);
registerVerifyCommand(program);
registerLedgerCommands(program);
registerLoginCommand(program);
reportUsageErrors(program);
requestTimeoutHelp(program);

/**
 * A reader that went away (`arbiter … | head -1`) wants no more output, and is no error of the command's: what
 * is left to print is dropped and the command ends as it would have, with its exit code (a denial stays 1).
 */
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Help, --version, and a command's help printed for want of a subcommand (then 2, as any usage error).
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof CliFailure) {
    console.error(`arbiter: ${err.message}`);
    process.exit(err.exitCode);
  }
  // Configuration and database errors carry a message written for the user (a configuration's, one line per
  // problem). Anything else is a fault of the CLI's own: one line, never a stack trace (the CLI has no debug
  // switch to ask for one).
  const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();
  const message =
    err instanceof Error && 'code' in err
      ? err.message
      : `internal error: ${oneLine(err instanceof Error ? err.message || err.name : String(err))}`;
  console.error(`arbiter: ${message}`);
  process.exit(2);
}
