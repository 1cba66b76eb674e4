/**
 * The `modelport` command line. Each command group lives in its own file and is thin: parse,
 * call a domain or the SDK, print. Every failure is one line on stderr and a non-zero exit.
 */
import { Command, CommanderError } from 'commander';
import { ModelportError } from '../core/errors.js';
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
import { registerRolloutCommands } from './rollout.js';

export function buildProgram(): Command {
  const program = new Command('modelport')
    .description('MLOps platform: experiment tracking, model registry, serving and monitoring')
    .version('0.1.0', '-V, --version-info', 'print the modelport version')
    .option('--server <url>', 'talk to a running server (default: $MODELPORT_SERVER, else run embedded)')
    .option('--token <token>', 'API token for --server (default: $MODELPORT_TOKEN)')
    .option('--data <dir>', 'data folder for embedded use (default: ./modelport-data)')
    .option('--store <uri>', 'metadata store: sqlite:PATH | postgres://USER@HOST:PORT/DB')
    .option('--artifacts <uri>', 'artifact store: file:PATH | s3://BUCKET/PREFIX')
    .option('--online <uri>', 'online store: sqlite:PATH | redis://HOST:PORT')
    .option('--queue <uri>', 'pipeline queue: local | redis://HOST:PORT')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .option('--allow-private-webhook-targets', 'let webhooks call loopback and private addresses')
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
  registerRolloutCommands(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  program.configureOutput({ outputError: (text, write) => write(`modelport: ${text.replace(/^error: /, '')}`) });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return reportFailure(err);
  }
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
