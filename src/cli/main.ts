/**
 * The `modelport` command line. Each command group lives in its own file and is thin: parse,
 * call a domain or the SDK, print. Every failure is one line on stderr and a non-zero exit.
 */
import { Command, CommanderError } from 'commander';
import { ModelportError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { registerServerCommand } from './server.js';
import { registerDeployCommand } from './deploy.js';
import { registerPredictCommand } from './predict.js';
import { registerQuickstartCommand } from './quickstart.js';
import { registerDriftCommand } from './drift.js';
import { registerDatasetsCommand } from './datasets.js';
import { registerModelsCommand } from './models.js';
import { registerExperimentsCommand } from './experiments.js';
import { registerRunsCommand } from './runs.js';
import { registerMonitorsCommand } from './monitors.js';
import { registerFeaturesCommand } from './features.js';
import { registerTrainCommand } from './train.js';
import { registerTuneCommand } from './tune.js';
import { registerExplainCommand } from './explain.js';
import { registerTokensCommand } from './tokens.js';
import { registerAuditCommand } from './audit.js';
import { registerPrivacyCommand } from './privacy.js';
import { registerKeysCommand } from './keys.js';
import { registerJobsCommand } from './jobs.js';
import { registerStreamCommand } from './stream.js';
import { registerExportCommand } from './export.js';
import { registerPipelinesCommand } from './pipelines.js';
import { registerWorkerCommand } from './worker.js';
import { registerGateCommand } from './gate.js';
import { registerRolloutCommands } from './rollout.js';
import { registerFsckCommand } from './fsck.js';

export function buildProgram(): Command {
  const program = new Command('modelport')
    .description('MLOps platform: experiment tracking, model registry, serving and monitoring')
    .addHelpText('after', '\nRun `modelport --version` for the version and `modelport <command> --help` for a command.')
    .option('--server <url>', 'talk to a running server (default: $MODELPORT_SERVER, else run embedded)')
    .option('--token <token>', 'API token for --server (default: $MODELPORT_TOKEN)')
    .option('--data <dir>', 'data folder for embedded use (default: ./modelport-data)')
    .option('--store <uri>', 'metadata store: sqlite:PATH | postgres://USER@HOST:PORT/DB')
    .option('--artifacts <uri>', 'artifact store: file:PATH | s3://BUCKET/PREFIX')
    .option('--online <uri>', 'online store: sqlite:PATH | redis://HOST:PORT')
    .option('--queue <uri>', 'pipeline queue: local | redis://HOST:PORT')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .option('--allow-private-webhook-targets', 'let webhooks call loopback and private addresses')
    .option('--master-key-file <file>', 'encrypt artifacts at rest under the keys in this file (default: $MODELPORT_MASTER_KEY_FILE)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServerCommand(program);
  registerDeployCommand(program);
  registerPredictCommand(program);
  registerQuickstartCommand(program);
  registerDriftCommand(program);
  registerDatasetsCommand(program);
  registerModelsCommand(program);
  registerExperimentsCommand(program);
  registerRunsCommand(program);
  registerMonitorsCommand(program);
  registerFeaturesCommand(program);
  registerTrainCommand(program);
  registerTuneCommand(program);
  registerExplainCommand(program);
  registerTokensCommand(program);
  registerAuditCommand(program);
  registerPrivacyCommand(program);
  registerKeysCommand(program);
  registerJobsCommand(program);
  registerStreamCommand(program);
  registerExportCommand(program);
  registerPipelinesCommand(program);
  registerWorkerCommand(program);
  registerGateCommand(program);
  registerRolloutCommands(program);
  registerFsckCommand(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/**
 * `--version` is answered only as the first argument: commander reads a program's options after
 * the subcommand too, and `deploy --version V` (a model version) must stay the deploy's own.
 */
const VERSION_FLAGS = new Set(['--version', '-V']);

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 3 && VERSION_FLAGS.has(argv[2]!)) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const program = buildProgram();
  program.configureOutput({ outputError: (text, write) => write(`modelport: ${text.replace(/^error: /, '')}`) });
  const unknown = unknownCommand(program, argv.slice(2));
  if (unknown !== undefined) {
    process.stderr.write(`modelport: unknown command '${unknown}' (run modelport --help for the commands)\n`);
    return 2;
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportFailure(err);
  }
}

/**
 * The first operand when it names no command. Commander would print the main help for
 * `modelport frobnicate --help` and exit 0, as if the command existed.
 */
function unknownCommand(program: Command, args: string[]): string | undefined {
  const takesValue = new Set(program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short]));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return undefined;
    if (arg.startsWith('-')) {
      if (takesValue.has(arg)) i++;
      continue;
    }
    return program.commands.some((c) => c.name() === arg || c.aliases().includes(arg)) || arg === 'help' ? undefined : arg;
  }
  return undefined;
}

export function reportFailure(err: unknown): number {
  if (err instanceof CommanderError) {
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof ModelportError) {
    process.stderr.write(`modelport: ${err.message}\n`);
    return 2;
  }
  process.stderr.write(`modelport: unexpected error: ${(err as Error)?.message ?? String(err)}\n`);
  return 1;
}
