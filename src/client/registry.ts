/**
 * Typed SDK for the model registry: models, versions, aliases, approvals, webhooks and lineage
 * over modelport's own API, plus registering a local model file or folder (each file streamed
 * to the server, then registered by sha256).
 */
import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { notFound } from '../core/errors.js';
import type {
  Actor,
  Approval,
  ApprovalPolicy,
  LineageGraph,
  Manifest,
  ModelVersion,
  RegisteredModel,
  Webhook,
  WebhookDelivery,
  WebhookInput,
  PolicyInput,
} from '../registry/index.js';
import type { ModelportClient } from './client.js';
import { uploadFile, type UploadTarget } from './upload.js';

export { counted } from './upload.js';

export type { Approval, ApprovalPolicy, LineageGraph, Manifest, ModelVersion, RegisteredModel, Webhook, WebhookDelivery } from '../registry/index.js';

const USER_HEADER = 'x-modelport-user';
const ROLES_HEADER = 'x-modelport-roles';

/** Uploads one local file and answers its sha256 and size; `onBytes` reports progress. */
export type BlobUploader = (file: string, onBytes?: (n: number) => void) => Promise<{ sha256: string; size: number }>;

/** Streams the file as the raw body of PUT /api/v1/registry/blobs (never buffered). */
export function httpBlobUploader(target: UploadTarget, actor: Actor = {}): BlobUploader {
  return (file, onBytes) =>
    uploadFile<{ sha256: string; size: number }>(target, { method: 'PUT', path: '/api/v1/registry/blobs', headers: actorHeaders(actor), file, onBytes });
}

function actorHeaders(actor: Actor): Record<string, string> {
  const headers: Record<string, string> = {};
  if (actor.user) headers[USER_HEADER] = actor.user;
  if (actor.roles?.length) headers[ROLES_HEADER] = actor.roles.join(',');
  return headers;
}

/** Every file under `path` (or `path` itself), as paths relative to the model folder. */
export async function modelFiles(path: string): Promise<{ file: string; path: string; size: number }[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw notFound(`${path}: no such file or folder`);
  if (info.isFile()) return [{ file: path, path: path.split(sep).pop()!, size: info.size }];
  const out: { file: string; path: string; size: number }[] = [];
  const walk = async (dir: string) => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) out.push({ file: full, path: relative(path, full).split(sep).join('/'), size: (await stat(full)).size });
    }
  };
  await walk(path);
  if (out.length === 0) throw notFound(`${path}: the folder holds no files`);
  return out;
}

export interface RegisterOptions {
  flavor?: 'onnx' | 'xgboost' | 'js';
  description?: string;
  tags?: Record<string, string>;
  runId?: string;
  signature?: unknown;
  inputExample?: unknown;
  parents?: { name: string; version: number }[];
  /** Called with the bytes sent so far of `total`. */
  onProgress?: (sent: number, total: number) => void;
}

const enc = encodeURIComponent;

export class RegistryClient {
  private readonly headers: Record<string, string>;
  private readonly uploader: BlobUploader;

  /**
   * `uploader` streams files (httpBlobUploader for a server URL, or an in-process one); without
   * it, files go through the client's transport as one buffered body each.
   */
  constructor(
    private readonly client: ModelportClient,
    options: { actor?: Actor; uploader?: BlobUploader } = {},
  ) {
    this.headers = actorHeaders(options.actor ?? {});
    this.uploader =
      options.uploader ??
      (async (file, onBytes) => {
        const body = readFileSync(file);
        const out = await this.call<{ sha256: string; size: number }>('PUT', '/api/v1/registry/blobs', undefined, body, { 'content-type': 'application/octet-stream' });
        onBytes?.(body.length);
        return out;
      });
  }

  private call<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, query?: Record<string, string | number | undefined>, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    return this.client.request<T>({ method, path, query, body, headers: { ...this.headers, ...headers } });
  }

  createModel(name: string, options: { description?: string; tags?: Record<string, string> } = {}): Promise<RegisteredModel> {
    return this.call('POST', '/api/v1/registry/models', undefined, { name, ...options });
  }

  /** Deletes a model; with force, the deployments that serve it first (their names are returned). */
  async deleteModel(name: string, options: { force?: boolean } = {}): Promise<string[]> {
    const answer = await this.call<{ deleted_deployments?: string[] } | undefined>('DELETE', `/api/v1/registry/models/${enc(name)}${options.force ? '?force=true' : ''}`);
    return answer?.deleted_deployments ?? [];
  }

  async deleteVersion(name: string, version: number | string, options: { force?: boolean } = {}): Promise<string[]> {
    const answer = await this.call<{ deleted_deployments?: string[] } | undefined>('DELETE', `/api/v1/registry/models/${enc(name)}/versions/${enc(String(version))}${options.force ? '?force=true' : ''}`);
    return answer?.deleted_deployments ?? [];
  }

  getModel(name: string): Promise<RegisteredModel> {
    return this.call('GET', `/api/v1/registry/models/${enc(name)}`);
  }

  listModels(query: { filter?: string; maxResults?: number; pageToken?: string } = {}): Promise<{ models: RegisteredModel[]; nextPageToken?: string }> {
    return this.call('GET', '/api/v1/registry/models', query);
  }

  listVersions(name: string): Promise<ModelVersion[]> {
    return this.call<{ versions: ModelVersion[] }>('GET', `/api/v1/registry/models/${enc(name)}/versions`).then((r) => r.versions);
  }

  /** A version by number, alias (`champion` / `@champion`) or `latest`. */
  getVersion(name: string, ref: number | string): Promise<ModelVersion> {
    return this.call('GET', `/api/v1/registry/models/${enc(name)}/versions/${enc(String(ref))}`);
  }

  manifest(name: string, ref: number | string): Promise<Manifest & { sha256: string }> {
    return this.call('GET', `/api/v1/registry/models/${enc(name)}/versions/${enc(String(ref))}/manifest`);
  }

  lineage(name: string, ref: number | string): Promise<LineageGraph> {
    return this.call('GET', `/api/v1/registry/models/${enc(name)}/versions/${enc(String(ref))}/lineage`);
  }

  setAlias(name: string, alias: string, version: number): Promise<ModelVersion> {
    return this.call('PUT', `/api/v1/registry/models/${enc(name)}/aliases/${enc(alias)}`, undefined, { version });
  }

  /** Uploads one file (streamed when the client has a streaming uploader). */
  uploadFile(file: string, onBytes?: (n: number) => void): Promise<{ sha256: string; size: number }> {
    return this.uploader(file, onBytes);
  }

  /**
   * Registers a local model: a file (.onnx, XGBoost .json/.ubj, .js) or a folder (an MLflow model
   * folder with MLmodel, or the flavor's files). Creates the registered model when needed.
   */
  async register(name: string, path: string, options: RegisterOptions = {}): Promise<ModelVersion> {
    const files = await modelFiles(path);
    const total = files.reduce((n, f) => n + f.size, 0);
    let sent = 0;
    const uploaded: { path: string; sha256: string }[] = [];
    for (const f of files) {
      const { sha256 } = await this.uploadFile(f.file, (n) => {
        sent += n;
        options.onProgress?.(sent, total);
      });
      uploaded.push({ path: f.path, sha256 });
    }
    const { onProgress: _progress, ...rest } = options;
    return this.call('POST', `/api/v1/registry/models/${enc(name)}/versions`, undefined, { ...rest, files: uploaded, createModel: true });
  }

  // ---- approvals ---------------------------------------------------------------------------

  requestApproval(input: { name: string; version: number; alias?: string; stage?: string; archiveExistingVersions?: boolean; comment?: string }): Promise<Approval> {
    return this.call('POST', '/api/v1/approvals', undefined, input);
  }

  listApprovals(filter: { model?: string; status?: 'PENDING' | 'APPROVED' | 'REJECTED' } = {}): Promise<Approval[]> {
    return this.call<{ approvals: Approval[] }>('GET', '/api/v1/approvals', filter).then((r) => r.approvals);
  }

  getApproval(id: string): Promise<Approval> {
    return this.call('GET', `/api/v1/approvals/${enc(id)}`);
  }

  approve(id: string, comment?: string): Promise<Approval> {
    return this.call('POST', `/api/v1/approvals/${enc(id)}/approve`, undefined, { comment });
  }

  reject(id: string, comment?: string): Promise<Approval> {
    return this.call('POST', `/api/v1/approvals/${enc(id)}/reject`, undefined, { comment });
  }

  putPolicy(policy: PolicyInput): Promise<ApprovalPolicy> {
    return this.call('PUT', '/api/v1/approvals/policies', undefined, policy);
  }

  listPolicies(): Promise<ApprovalPolicy[]> {
    return this.call<{ policies: ApprovalPolicy[] }>('GET', '/api/v1/approvals/policies').then((r) => r.policies);
  }

  // ---- webhooks ----------------------------------------------------------------------------

  createWebhook(input: WebhookInput): Promise<Webhook> {
    return this.call('POST', '/api/v1/webhooks', undefined, input);
  }

  listWebhooks(): Promise<Webhook[]> {
    return this.call<{ webhooks: Webhook[] }>('GET', '/api/v1/webhooks').then((r) => r.webhooks);
  }

  testWebhook(id: string): Promise<WebhookDelivery> {
    return this.call('POST', `/api/v1/webhooks/${enc(id)}/test`);
  }

  deliveries(id: string): Promise<WebhookDelivery[]> {
    return this.call<{ deliveries: WebhookDelivery[] }>('GET', `/api/v1/webhooks/${enc(id)}/deliveries`).then((r) => r.deliveries);
  }

  deleteWebhook(id: string): Promise<void> {
    return this.call('DELETE', `/api/v1/webhooks/${enc(id)}`);
  }
}
