/** modelport's registry API (/api/v1/registry, /api/v1/approvals). */
import { getJson, sendJson } from './http';

export interface ModelVersion {
  name: string;
  version: number;
  createdAt: number;
  updatedAt: number;
  userId?: string;
  stage: string;
  description?: string;
  source: string;
  runId?: string;
  status: string;
  tags: Record<string, string>;
  aliases: string[];
  flavor?: string;
  sha256?: string;
  size?: number;
  signature?: unknown;
  parents: { name: string; version: number }[];
}
export interface RegisteredModel {
  name: string;
  description?: string;
  createdAt: number;
  updatedAt: number;
  tags: Record<string, string>;
  aliases: { alias: string; version: number }[];
  latestVersions: ModelVersion[];
}
export interface Approval {
  id: string;
  name: string;
  version: number;
  kind: string;
  target: string;
  status: 'PENDING' | 'APPROVED' | 'REJECTED';
  requestedBy: string;
  requestedAt: number;
  requestComment?: string;
  decidedBy?: string;
  decidedAt?: number;
  decisionComment?: string;
}
export interface LineageNode {
  id: string;
  kind: string;
  label: string;
  data: Record<string, unknown>;
}
export interface Lineage {
  root: string;
  nodes: LineageNode[];
  edges: { from: string; to: string; relation: string }[];
}

const BASE = '/api/v1/registry/models';
const enc = encodeURIComponent;

export async function listModels(): Promise<RegisteredModel[]> {
  const out: RegisteredModel[] = [];
  let pageToken: string | undefined;
  do {
    const res = await getJson<{ models: RegisteredModel[]; nextPageToken?: string }>(BASE, { maxResults: 1000, pageToken });
    out.push(...res.models);
    pageToken = res.nextPageToken;
  } while (pageToken);
  return out;
}

export const getModel = (name: string) => getJson<RegisteredModel>(`${BASE}/${enc(name)}`);
export const listVersions = async (name: string) => (await getJson<{ versions: ModelVersion[] }>(`${BASE}/${enc(name)}/versions`)).versions;
export const getVersion = (name: string, version: string | number) => getJson<ModelVersion>(`${BASE}/${enc(name)}/versions/${enc(String(version))}`);
export const lineage = (name: string, version: string | number) => getJson<Lineage>(`${BASE}/${enc(name)}/versions/${enc(String(version))}/lineage`);

export async function approvals(model?: string): Promise<Approval[]> {
  return (await getJson<{ approvals: Approval[] }>('/api/v1/approvals', { model })).approvals;
}

export function decide(id: string, decision: 'approve' | 'reject', comment?: string): Promise<Approval> {
  return sendJson<Approval>('POST', `/api/v1/approvals/${enc(id)}/${decision}`, comment ? { comment } : {});
}

export function requestApproval(body: { name: string; version: number; alias?: string; stage?: string; comment?: string }): Promise<Approval> {
  return sendJson<Approval>('POST', '/api/v1/approvals', body);
}

/** Versions registered from a run (MLflow's search grammar on run_id). */
export async function versionsOfRun(runId: string): Promise<{ name: string; version: string; current_stage?: string; aliases?: string[] }[]> {
  const res = await getJson<{ model_versions?: { name: string; version: string; current_stage?: string; aliases?: string[] }[] }>(
    '/api/2.0/mlflow/model-versions/search',
    { filter: `run_id = '${runId.replace(/'/g, '')}'` },
  );
  return res.model_versions ?? [];
}
