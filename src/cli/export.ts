/**
 * `modelport export NAME --version V --format onnx|bundle --output DIR`: a registered model
 * version as ONNX or as an edge bundle (ONNX, signature, a dependency-free ES module, README).
 * It reads the version through the registry API, so it works embedded (--data, --store) and
 * against a server (--server) alike.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { decodeResponse, type ModelportClient } from '../client/client.js';
import { RegistryClient } from '../client/registry.js';
import { invalidArgument } from '../core/errors.js';
import type { ModelSource } from '../serving/index.js';
import { exportModel, type ExportFormat } from '../serving/export/bundle.js';
import { withClient } from './context.js';

/** Resolves versions through the API, downloading their files into `scratch` on first use. */
function clientModelSource(client: ModelportClient, scratch: string): Pick<ModelSource, 'resolve'> {
  const registry = new RegistryClient(client, { actor: {} });
  return {
    async resolve(model, ref) {
      const v = await registry.getVersion(model, ref.version ?? `@${ref.alias}`);
      const manifest = await registry.manifest(model, v.version);
      return {
        model,
        version: v.version,
        sha256: manifest.sha256,
        flavor: v.flavor,
        async materialize() {
          const dir = join(scratch, `${v.version}`);
          for (const f of manifest.files) {
            const path = `/api/v1/registry/models/${encodeURIComponent(model)}/versions/${v.version}/files/${f.path.split('/').map(encodeURIComponent).join('/')}`;
            const res = await client.transport.request({ method: 'GET', path });
            if (res.status >= 400) decodeResponse(res.status, res.body.toString('utf8'));
            await mkdir(dirname(join(dir, f.path)), { recursive: true });
            await writeFile(join(dir, f.path), res.body);
          }
          return dir;
        },
      };
    },
  };
}

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
      const scratch = await mkdtemp(join(tmpdir(), 'modelport-export-'));
      try {
        await withClient(cmd, async (client) => {
          const result = await exportModel(clientModelSource(client, scratch), model, version, flags.format as ExportFormat, flags.output);
          process.stdout.write(`exported ${model} version ${version} (${flags.format}):\n${result.files.map((f) => `  ${f}\n`).join('')}`);
        });
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    });
}
