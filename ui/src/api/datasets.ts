/** modelport's datasets API (/api/v1/datasets). */
import { fetchRaw, getJson } from './http';

export interface DatasetSummary {
  name: string;
  latestVersion: number;
  versionCount: number;
  rowCount: number;
  columnCount: number;
  updatedAt: number;
}
export interface SchemaColumn {
  name: string;
  type: string;
  required?: boolean;
  minPresence?: number;
  unique?: boolean;
  min?: number;
  max?: number;
  domain?: string[];
  drift?: Record<string, number>;
}
export interface ProfileColumn {
  name: string;
  type: string;
  count: number;
  missing: number;
  missingShare: number;
  distinct: number;
  min?: number | string;
  max?: number | string;
  mean?: number;
  std?: number;
  histogram?: { low: number; high: number; count: number }[];
  categories?: { value: string; count: number }[];
  topValues?: { value: string; count: number }[];
}
export interface DatasetVersion {
  name: string;
  version: number;
  digest: string;
  kind: 'file' | 'folder';
  format: string;
  sizeBytes: number;
  rowCount: number;
  columnCount: number;
  source?: string;
  creator?: string;
  description?: string;
  createdAt: number;
  schema?: { columns: SchemaColumn[] };
  profile?: { rowCount: number; columns: ProfileColumn[]; exact?: boolean };
}
export interface Anomaly {
  kind: string;
  column?: string;
  message: string;
}
export interface ValidationReport {
  valid: boolean;
  anomalies: Anomaly[];
  rowCount?: number;
}

const enc = encodeURIComponent;

export const listDatasets = async () => (await getJson<{ datasets: DatasetSummary[] }>('/api/v1/datasets')).datasets;
export const getDataset = (name: string) => getJson<{ name: string; schema: { columns: SchemaColumn[] }; versions: DatasetVersion[] }>(`/api/v1/datasets/${enc(name)}`);
export const getVersion = (name: string, version: number | 'latest') => getJson<DatasetVersion>(`/api/v1/datasets/${enc(name)}/versions/${version}`, { profile: true });

/** Validates a file the user picked against the dataset's schema (and for drift against its latest version). */
export async function validateFile(name: string, file: File): Promise<ValidationReport> {
  const res = await fetchRaw(`/api/v1/datasets/${enc(name)}/validate?filename=${enc(file.name)}`, {
    method: 'POST',
    body: file,
    headers: { 'content-type': 'application/octet-stream' },
  });
  return (await res.json()) as ValidationReport;
}

export const versionContentPath = (name: string, version: number) => `/api/v1/datasets/${enc(name)}/versions/${version}/content`;
