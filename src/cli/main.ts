/**
 * The `modelport` command line. Each command group lives in its own file and is thin: parse,
 * call a domain or the SDK, print. Every failure is one line on stderr and a non-zero exit.
 */
import { Command, CommanderError } from 'commander';
import { ModelportError } from '../core/errors.js';
import { VERSION } from '../core/version.js';

type Registrar = (program: Command) => void;

/**
 * The top-level commands of each command module, in the order help lists them. A run imports only
 * the module of the command it runs: importing them all took about 0.35 s, which a command
 * against --server (or --help for one command) otherwise paid for code it never runs.
 */
export const COMMAND_MODULES: [names: string[], load: () => Promise<Registrar>][] = [
  [['server'], async () => (await import('./server.js')).registerServerCommand],
  [['deploy', 'deployments'], async () => (await import('./deploy.js')).registerDeployCommand],
  [['predict'], async () => (await import('./predict.js')).registerPredictCommand],
  [['quickstart'], async () => (await import('./quickstart.js')).registerQuickstartCommand],
  [['drift'], async () => (await import('./drift.js')).registerDriftCommand],
  [['datasets'], async () => (await import('./datasets.js')).registerDatasetsCommand],
  [['models'], async () => (await import('./models.js')).registerModelsCommand],
  [['experiments'], async () => (await import('./experiments.js')).registerExperimentsCommand],
  [['runs'], async () => (await import('./runs.js')).registerRunsCommand],
  [['monitors'], async () => (await import('./monitors.js')).registerMonitorsCommand],
  [['features'], async () => (await import('./features.js')).registerFeaturesCommand],
  [['train'], async () => (await import('./train.js')).registerTrainCommand],
  [['tune'], async () => (await import('./tune.js')).registerTuneCommand],
  [['explain'], async () => (await import('./explain.js')).registerExplainCommand],
  [['tokens', 'grant'], async () => (await import('./tokens.js')).registerTokensCommand],
  [['audit'], async () => (await import('./audit.js')).registerAuditCommand],
  [['privacy'], async () => (await import('./privacy.js')).registerPrivacyCommand],
  [['keys'], async () => (await import('./keys.js')).registerKeysCommand],
  [['jobs'], async () => (await import('./jobs.js')).registerJobsCommand],
  [['stream'], async () => (await import('./stream.js')).registerStreamCommand],
  [['export'], async () => (await import('./export.js')).registerExportCommand],
  [['pipelines'], async () => (await import('./pipelines.js')).registerPipelinesCommand],
  [['worker'], async () => (await import('./worker.js')).registerWorkerCommand],
  [['gate'], async () => (await import('./gate.js')).registerGateCommand],
  [['rollout', 'ab', 'rollouts', 'revisions', 'rollback'], async () => (await import('./rollout.js')).registerRolloutCommands],
  [['fsck'], async () => (await import('./fsck.js')).registerFsckCommand],
];

/** The program with its global options and no commands yet. */
function baseProgram(): Command {
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
  return program;
}

/** The program with the commands of `command` (a command name) or, when it names none, all of them. */
export async function buildProgram(command?: string): Promise<Command> {
  const program = baseProgram();
  const only = COMMAND_MODULES.find(([names]) => command !== undefined && names.includes(command));
  const registrars = await Promise.all((only ? [only] : COMMAND_MODULES).map(([, load]) => load()));
  for (const register of registrars) register(program);
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
  const operand = firstOperand(baseProgram(), argv.slice(2));
  const program = await buildProgram(operand);
  program.configureOutput({ outputError: (text, write) => write(`modelport: ${text.replace(/^error: /, '')}`) });
  const unknown = operand !== undefined && operand !== 'help' && !program.commands.some((c) => c.name() === operand || c.aliases().includes(operand)) ? operand : undefined;
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
 * The first operand: the command to run, if it names one. One that names none is refused: commander
 * would print the main help for `modelport frobnicate --help` and exit 0, as if the command existed.
 */
function firstOperand(program: Command, args: string[]): string | undefined {
  const takesValue = new Set(program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short]));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return undefined;
    if (arg.startsWith('-')) {
      if (takesValue.has(arg)) i++;
      continue;
    }
    return arg;
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
