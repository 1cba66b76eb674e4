/**
 * Typed SDK for the feature store. Online reads answer in Feast's shape (one result per column,
 * with a status per value). An embedded (in-process) client hands file paths to the platform,
 * which reads and writes them where they lie; over HTTP, entity rows travel as JSON columns and
 * the training file comes back as bytes.
 */
import { writeFileSync } from 'node:fs';
import type { ModelportClient } from './client.js';
import { decodeResponse } from './client.js';
import { InjectTransport } from './transport.js';
import { historicalFormatOf, type ApplyResult, type FeatureRepoSpec, type OnlineResponse, type Plan, type Value } from '../features/types.js';
import type { ConsistencyReport, FreshnessEntry, HistoricalFileResult } from '../features/service.js';
import type { ViewMaterialization } from '../features/materialize.js';

export type { ApplyResult, FeatureRepoSpec, OnlineResponse, Plan, Value, ConsistencyReport, FreshnessEntry, HistoricalFileResult, ViewMaterialization };
export { defineFeatures } from '../features/define.js';

export interface FeatureSelection {
  /** "VIEW:FEATURE" or "VIEW". */
  features?: string[];
  featureService?: string;
}

export interface FeatureListing {
  version: number;
  definition?: FeatureRepoSpec;
  versions: { version: number; digest: string; creator: string; createdAt: number }[];
}

export interface HistoricalFileOptions extends FeatureSelection {
  timestampColumn?: string;
  /** Also register the result as a version of this dataset (lineage to the feature views). */
  registerAs?: string;
}

const sel = (s: FeatureSelection) => ({ features: s.features, feature_service: s.featureService });

export class FeaturesClient {
  constructor(private readonly client: ModelportClient) {}

  /** In-process: file paths are read and written by the platform where they lie. */
  get embedded(): boolean {
    return this.client.transport instanceof InjectTransport;
  }

  list(): Promise<FeatureListing> {
    return this.client.request({ method: 'GET', path: '/api/v1/features' });
  }

  plan(definition: FeatureRepoSpec): Promise<Plan> {
    return this.client.request({ method: 'POST', path: '/api/v1/features/plan', body: { definition } });
  }

  apply(definition: FeatureRepoSpec): Promise<ApplyResult> {
    return this.client.request({ method: 'POST', path: '/api/v1/features/apply', body: { definition } });
  }

  /** Point-in-time correct features for entity rows given as columns (keys, event time, request values). */
  getHistoricalFeatures(entities: Record<string, Value[]>, selection: FeatureSelection & { timestampColumn?: string }): Promise<{ columns: string[]; rows: Value[][] }> {
    return this.client.request({
      method: 'POST',
      path: '/api/v1/features/historical',
      body: { ...sel(selection), entities, timestamp_column: selection.timestampColumn, format: 'json' },
    });
  }

  /**
   * Training data into `outputPath` (.csv, .parquet, or .arrow / .feather for an Arrow IPC file). Embedded, `entities` is a file path read
   * in place; over HTTP it is the entity rows as columns (read the file first).
   */
  async historicalToFile(entities: string | Record<string, Value[]>, outputPath: string, options: HistoricalFileOptions): Promise<HistoricalFileResult> {
    const format = historicalFormatOf(outputPath);
    if (typeof entities === 'string') {
      return this.client.request({
        method: 'POST',
        path: '/api/v1/features/historical/from-path',
        body: { ...sel(options), entities_path: entities, output_path: outputPath, timestamp_column: options.timestampColumn, register_as: options.registerAs },
      });
    }
    const res = await this.client.transport.request({
      method: 'POST',
      path: '/api/v1/features/historical',
      body: { ...sel(options), entities, timestamp_column: options.timestampColumn, format, register_as: options.registerAs },
    });
    if (res.status >= 400) decodeResponse(res.status, res.body.toString('utf8'));
    writeFileSync(outputPath, res.body);
    const registered = res.headers['x-modelport-dataset'];
    const at = registered?.lastIndexOf('@') ?? -1;
    return {
      path: outputPath,
      format,
      rowCount: Number(res.headers['x-modelport-row-count']),
      columns: JSON.parse(decodeURIComponent(res.headers['x-modelport-columns'] ?? '[]')),
      registryVersion: Number(res.headers['x-modelport-registry-version']),
      dataset: registered && at > 0 ? { name: registered.slice(0, at), version: Number(registered.slice(at + 1)), created: true } : undefined,
    };
  }

  async materialize(options: { views?: string[]; incremental?: boolean; start?: string | number; end?: string | number } = {}): Promise<ViewMaterialization[]> {
    return (await this.client.request<{ views: ViewMaterialization[] }>({ method: 'POST', path: '/api/v1/features/materialize', body: options })).views;
  }

  /** Online values for entity rows, e.g. `({customer_id: [10022, 10030]}, {features: ['customer_stats:utilization']})`. */
  getOnlineFeatures(entities: Record<string, Value[]>, selection: FeatureSelection & { requestData?: Record<string, Value[]> }): Promise<OnlineResponse> {
    return this.client.request({ method: 'POST', path: '/api/v1/features/online', body: { ...sel(selection), entities, request_data: selection.requestData } });
  }

  push(featureView: string, df: Record<string, Value[]>, to: 'online' | 'offline' | 'online_and_offline' = 'online'): Promise<{ rows: number; written: number }> {
    return this.client.request({ method: 'POST', path: '/api/v1/features/push', body: { feature_view: featureView, df, to } });
  }

  check(options: { views?: string[]; sample?: number } = {}): Promise<ConsistencyReport> {
    return this.client.request({ method: 'POST', path: '/api/v1/features/check', body: options });
  }

  /** Serves `deployment` with a feature lookup: its requests carry entity keys and request values. */
  bindDeployment(deployment: string, featureService: string): Promise<{ deployment: string; featureService: string; keys: Record<string, string> }> {
    return this.client.request({ method: 'PUT', path: `/api/v1/features/deployments/${encodeURIComponent(deployment)}`, body: { feature_service: featureService } });
  }

  async unbindDeployment(deployment: string): Promise<void> {
    await this.client.request({ method: 'DELETE', path: `/api/v1/features/deployments/${encodeURIComponent(deployment)}` });
  }

  async freshness(): Promise<FreshnessEntry[]> {
    return (await this.client.request<{ views: FreshnessEntry[] }>({ method: 'GET', path: '/api/v1/features/freshness' })).views;
  }
}
