/**
 * `modelport export NAME --version V --format onnx|bundle --output DIR`: a registered model
 * version as ONNX or as an edge bundle (ONNX, signature, a dependency-free ES module, README).
 * It reads the version through the registry API, so it works embedded (--data, --store) and
 * against a server (--server) alike.
 */
import type { Command } from 'commander';
import { exportVersion } from '../client/export.js';
import { invalidArgument } from '../core/errors.js';
import type { ExportFormat } from '../serving/export/bundle.js';
import { withClient } from './context.js';

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('export a model version as ONNX or as an edge bundle for onnxruntime-web / onnxruntime-node')
    .argument('<model>', 'registered model name')
    .requiredOption('--version <version>', 'model version')
    .option('--format <format>', 'onnx | bundle', 'bundle')
    .requiredOption('--output <dir>', 'folder to write into')
    .action(async (model: string, flags: { version: string; format: string; output: string }, cmd: Command) => {
      const version = Number(flags.version);
      if (!Number.isInteger(version) || version < 1) throw invalidArgument(`--version: "${flags.version}" is not a version number`);
      if (flags.format !== 'onnx' && flags.format !== 'bundle') throw invalidArgument(`--format: "${flags.format}" must be onnx or bundle`);
      await withClient(cmd, async (client) => {
        const result = await exportVersion(client, model, version, flags.format as ExportFormat, flags.output);
        process.stdout.write(`exported ${model} version ${version} (${flags.format}):\n${result.files.map((f) => `  ${f}\n`).join('')}`);
      });
    });
}
