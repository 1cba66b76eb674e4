/** modelport's feature store API: the applied definition, its versions, freshness and served deployments. */
import { getJson } from './http';

// The definition is the server's own type: src/features/types.ts holds only TypeBox schemas.
import type { FeatureRepoSpec } from '../../../src/features/types';

export type FeatureDefinition = FeatureRepoSpec;
export interface FeatureListing {
  version: number;
  definition?: FeatureDefinition;
  versions: { version: number; digest: string; creator: string; createdAt: number }[];
}
export interface Freshness {
  view: string;
  materializedToMs: number | null;
  newestEventMs: number | null;
  ageSeconds: number | null;
  rowsWritten: number;
}

export const listFeatures = () => getJson<FeatureListing>('/api/v1/features');
export const freshness = async () => (await getJson<{ views: Freshness[] }>('/api/v1/features/freshness')).views;
export const featureDeployments = async () => (await getJson<{ deployments: { deployment: string; featureService: string; keys: Record<string, string> }[] }>('/api/v1/features/deployments')).deployments;
