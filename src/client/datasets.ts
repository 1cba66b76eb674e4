/**
 * Typed SDK for datasets. Files go up as a streamed raw body when the client knows the server's
 * URL (`upload` target), as a buffered body otherwise; an embedded (in-process) client passes
 * the path and the platform reads the file where it lies.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { notFound } from '../core/errors.js';
import type { ModelportClient } from './client.js';
import { InjectTransport } from './transport.js';
import { uploadFile, type UploadTarget } from './upload.js';

export type { UploadTarget };
import type {
  DatasetDiff,
  DatasetSchema,
  DatasetSummary,
  DatasetVersion,
  Lineage,
  ValidationReport,
} from '../data/types.js';

export type {
  DatasetDiff,
  DatasetSchema,
  DatasetSummary,
  DatasetVersion,
  Lineage,
  ValidationReport,
  Anomaly,
  ColumnSchema,
  ColumnProfile,
  Profile,
} from '../data/types.js';

export interface DatasetSourceOptions {
  format?: 'csv' | 'jsonl' | 'parquet';
  /** CSV field separator. */
  delimiter?: string;
}

export interface RegisterDatasetOptions extends DatasetSourceOptions {
  description?: string;
  source?: string;
  creator?: string;
  /** Refuse the version when it breaks the dataset's schema. */
  validate?: boolean;
}

export interface DatasetRef {
  name: string;
  version?: number;
}

export type Cell = string | number | boolean | null;

const enc = encodeURIComponent;
const versionPath = (ref: DatasetRef) => `/api/v1/datasets/${enc(ref.name)}/versions/${ref.version ?? 'latest'}`;

/** "NAME" or "NAME@3" or "NAME@latest" → a reference (the server checks the name). */
export function datasetRef(ref: string | DatasetRef): DatasetRef {
  if (typeof ref !== 'string') return ref;
  const at = ref.lastIndexOf('@');
  if (at < 0 || ref.slice(at + 1) === 'latest') return { name: at < 0 ? ref : ref.slice(0, at) };
  return { name: ref.slice(0, at), version: Number(ref.slice(at + 1)) };
}

export class DatasetsClient {
  constructor(
    private readonly client: ModelportClient,
    private readonly upload?: UploadTarget,
  ) {}

  private get embedded(): boolean {
    return this.client.transport instanceof InjectTransport;
  }

  async list(): Promise<DatasetSummary[]> {
    return (await this.client.request<{ datasets: DatasetSummary[] }>({ method: 'GET', path: '/api/v1/datasets' })).datasets;
  }

  /** A dataset's versions (newest first, without profiles) and its validation schema. */
  get(name: string): Promise<{ name: string; schema: DatasetSchema; versions: DatasetVersion[] }> {
    return this.client.request({ method: 'GET', path: `/api/v1/datasets/${enc(name)}` });
  }

  /** Deletes a version (`NAME@3`) or, given a bare name, the whole dataset. */
  async delete(ref: string | DatasetRef): Promise<{ deleted: number[] }> {
    const r = datasetRef(ref);
    return this.client.request({ method: 'DELETE', path: r.version === undefined ? `/api/v1/datasets/${enc(r.name)}` : versionPath(r) });
  }

  version(ref: string | DatasetRef, options: { profile?: boolean } = {}): Promise<DatasetVersion> {
    return this.client.request({ method: 'GET', path: versionPath(datasetRef(ref)), query: { profile: options.profile } });
  }

  /** Registers a local file (or, embedded, a file or folder) as a new version of `name`. */
  async register(name: string, path: string, options: RegisterDatasetOptions = {}): Promise<{ created: boolean; described?: boolean; version: DatasetVersion }> {
    if (this.embedded) {
      return this.client.request({ method: 'POST', path: `/api/v1/datasets/${enc(name)}/versions/from-path`, body: { path, ...options } });
    }
    return this.sendFile(`/api/v1/datasets/${enc(name)}/versions`, path, { ...options, filename: basename(path) });
  }

  /** Validates a local file against the dataset's schema (and for drift against `against`, default latest). */
  async validate(name: string, path: string, options: DatasetSourceOptions & { against?: number } = {}): Promise<ValidationReport> {
    if (this.embedded) {
      return this.client.request({ method: 'POST', path: `/api/v1/datasets/${enc(name)}/validate/from-path`, body: { path, ...options } });
    }
    return this.sendFile(`/api/v1/datasets/${enc(name)}/validate`, path, { ...options, filename: basename(path) });
  }

  /** Validates columns held in memory, e.g. a batch of serving requests. */
  validateColumns(name: string, columns: Record<string, Cell[]>, options: { against?: number } = {}): Promise<ValidationReport> {
    return this.client.request({ method: 'POST', path: `/api/v1/datasets/${enc(name)}/validate/columns`, body: { columns, ...options } });
  }

  schema(name: string): Promise<DatasetSchema> {
    return this.client.request({ method: 'GET', path: `/api/v1/datasets/${enc(name)}/schema` });
  }

  setSchema(name: string, schema: DatasetSchema): Promise<DatasetSchema> {
    return this.client.request({ method: 'PUT', path: `/api/v1/datasets/${enc(name)}/schema`, body: schema });
  }

  inferSchema(name: string, options: { version?: number; save?: boolean } = {}): Promise<DatasetSchema> {
    return this.client.request({ method: 'POST', path: `/api/v1/datasets/${enc(name)}/schema/infer`, body: options });
  }

  diff(a: string | DatasetRef, b: string | DatasetRef): Promise<DatasetDiff> {
    const x = datasetRef(a);
    const y = datasetRef(b);
    return this.client.request({ method: 'GET', path: `${versionPath(x)}/diff`, query: { with: `${y.name}@${y.version ?? 'latest'}` } });
  }

  lineage(ref: string | DatasetRef): Promise<Lineage> {
    return this.client.request({ method: 'GET', path: `${versionPath(datasetRef(ref))}/lineage` });
  }

  linkRun(ref: string | DatasetRef, runId: string, context?: string): Promise<Lineage> {
    return this.client.request({ method: 'POST', path: `${versionPath(datasetRef(ref))}/runs`, body: { runId, context } });
  }

  linkModel(ref: string | DatasetRef, model: { modelName: string; modelVersion: string; runId?: string }): Promise<Lineage> {
    return this.client.request({ method: 'POST', path: `${versionPath(datasetRef(ref))}/models`, body: model });
  }

  private async sendFile<T>(path: string, file: string, query: Record<string, string | number | boolean | undefined>): Promise<T> {
    if (!statSync(file, { throwIfNoEntry: false })?.isFile()) {
      throw notFound(`${file}: no such file (only the embedded mode registers folders)`);
    }
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (!this.upload) {
      return this.client.request({ method: 'POST', path, query, headers, body: readFileSync(file) });
    }
    return uploadFile<T>(this.upload, { method: 'POST', path, query, headers, file });
  }
}
