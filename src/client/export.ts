/**
 * Edge export through the API: a registered model version's files are downloaded from the
 * registry and written out as ONNX or as an edge bundle (serving/export/bundle.ts), so the same
 * call works against an embedded platform and a remote server alike.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ModelSource } from '../serving/index.js';
import { exportModel, type ExportFormat, type ExportResult } from '../serving/export/bundle.js';
import { decodeResponse, type ModelportClient } from './client.js';
import { RegistryClient } from './registry.js';

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

/** Writes `model` version `version` into `dir` as ONNX or as an edge bundle, and lists the files written. */
export async function exportVersion(client: ModelportClient, model: string, version: number, format: ExportFormat, dir: string): Promise<ExportResult> {
  const scratch = await mkdtemp(join(tmpdir(), 'modelport-export-'));
  try {
    return await exportModel(clientModelSource(client, scratch), model, version, format, dir);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
