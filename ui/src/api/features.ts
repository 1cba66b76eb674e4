/** modelport's feature store API: the applied definition, its versions, freshness and served deployments. */
import { getJson } from './http';

interface Feature {
  name: string;
  dtype: string;
  description?: string;
}
export interface FeatureDefinition {
  project?: string;
  entities: { name: string; join_keys: string[]; description?: string }[];
  sources: { name: string; path?: string; dataset?: string; timestamp_field: string; description?: string }[];
  feature_views: { name: string; entities: string[]; source: string; ttl?: string; features: Feature[]; owner?: string; description?: string }[];
  on_demand_feature_views?: { name: string; sources: string[]; request?: Feature[]; features: Feature[]; owner?: string; description?: string }[];
  feature_services?: { name: string; features: string[]; owner?: string; description?: string }[];
}
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
