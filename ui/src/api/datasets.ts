/** modelport's datasets API (/api/v1/datasets). */
import { fetchRaw, getJson } from './http';

// The server's own types: src/data/types.ts holds only TypeBox schemas, so the UI can see them.
import type { ColumnProfile, ColumnSchema, DatasetSummary, DatasetVersion, ValidationReport } from '../../../src/data/types';

export type { DatasetSummary, DatasetVersion, ValidationReport };
export type SchemaColumn = ColumnSchema;
export type ProfileColumn = ColumnProfile;

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
