import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.ts';
import { registerCheckCommand } from './check.ts';
import { registerDemoCommand } from './demo.ts';
import { registerEvaluateCommand } from './evaluate.ts';
import { registerLedgerCommands } from './ledger.ts';
import { registerLoginCommand } from './login.ts';
import { registerPolicyCommands } from './policy.ts';
import { registerReportCommands } from './report.ts';
import { registerServeCommand } from './serve.ts';
import { registerTokenCommands } from './token.ts';
import { registerVerifyCommand } from './verify.ts';
import { CliFailure } from './output.ts';

const program = new Command('arbiter')
  .description('Policy-as-code governance for machine-learning models, with a verifiable audit ledger.')
  .version(VERSION, '-v, --version', 'print the version')
  .showHelpAfterError()
  // Root options only before the command: `arbiter check --version 1.2.0` names a model version.
  .enablePositionalOptions()
  .exitOverride();

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
registerVerifyCommand(program);
registerLedgerCommands(program);
registerLoginCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof CliFailure) {
    console.error(`arbiter: ${err.message}`);
    process.exit(err.exitCode);
  }
  // Configuration and database errors carry a message written for the user.
  const message = err instanceof Error && 'code' in err ? err.message : String((err as Error).stack ?? err);
  console.error(`arbiter: ${message}`);
  process.exit(2);
}
