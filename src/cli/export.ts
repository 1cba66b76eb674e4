/**
 * `modelport export NAME --version V --format onnx|bundle --output DIR`: a registered model
 * version as ONNX or as an edge bundle (ONNX, signature, a dependency-free ES module, README).
 * It reads the registry through the stores (--data, or --store/--artifacts for shared ones).
 */
import type { Command } from 'commander';
import { invalidArgument } from '../core/errors.js';
import { createPlatform } from '../platform.js';
import { registryModelSource } from '../serving/index.js';
import { exportModel, type ExportFormat } from '../serving/export/bundle.js';
import { configFrom, globalOptions } from './context.js';

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
      if (globalOptions(cmd).server) throw invalidArgument('--server: export reads the registry through its stores; use --data, or --store and --artifacts');
      const platform = await createPlatform({ ...configFrom(cmd), logLevel: 'silent' });
      try {
        const result = await exportModel(registryModelSource(platform.services.registry), model, version, flags.format as ExportFormat, flags.output);
        process.stdout.write(`exported ${model} version ${version} (${flags.format}):\n${result.files.map((f) => `  ${f}\n`).join('')}`);
      } finally {
        await platform.close();
      }
    });
}
