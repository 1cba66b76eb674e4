/** Typed SDK for explanations: explain rows or a logged prediction, global importance, reports. */
import type { V2Request } from '../serving/index.js';
import type { PermutationImportance, ShapImportance } from '../explain/index.js';
import type { ModelportClient } from './client.js';

export interface ExplainTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

export interface ExplainResponse {
  model_name: string;
  model_version: string;
  id?: string;
  method: 'tree' | 'kernel' | 'lime';
  /** The model output the attributions explain ("margin" for TreeSHAP). */
  explained_output: string;
  feature_names: string[];
  /** One per row, or per row and class for a multi-output model. */
  base_values: number[] | number[][];
  /** `attributions` ([rows, features] or [rows, classes, features]), optional `interactions` and `lime_weights`, then the model's own outputs. */
  outputs: ExplainTensor[];
}

export interface LoggedExplanation extends Omit<ExplainResponse, 'id'> {
  request_id: string;
  deployment: string;
  /** Set when the explanation was computed as the request was served (sampled explanation logging). */
  logged_at_ms?: number;
}

export interface ExplainParameters {
  method?: 'tree' | 'kernel' | 'lime';
  output?: string;
  budget?: number;
  seed?: number;
  interactions?: boolean;
  samples?: number;
  top_k?: number;
  /** "dataset[@version]" to summarise as the background. */
  background?: string;
}

export interface ImportanceRequest {
  /** "dataset[@version]". */
  dataset: string;
  label?: string;
  rows?: number;
  background_size?: number;
  repeats?: number;
  seed?: number;
  parameters?: ExplainParameters;
}

export interface ImportanceResponse {
  model: string;
  version: number;
  shap?: Omit<ShapImportance, 'sample'>;
  permutation?: PermutationImportance;
}

const enc = encodeURIComponent;

export class ExplainClient {
  constructor(private readonly client: ModelportClient) {}

  /** Explains the rows of a V2 inference request against a deployment (and optionally one of its versions). */
  explain(deployment: string, request: V2Request, version?: number): Promise<ExplainResponse> {
    const path = `/v2/models/${enc(deployment)}${version === undefined ? '' : `/versions/${version}`}/explain`;
    return this.client.request({ method: 'POST', path, body: request });
  }

  /** Explains a logged prediction from its stored inputs, against the version that answered it. */
  explainLogged(requestId: string, parameters: ExplainParameters = {}): Promise<LoggedExplanation> {
    return this.client.request({ method: 'POST', path: `/api/v1/explain/predictions/${enc(requestId)}`, body: { parameters } });
  }

  importance(model: string, version: number): Promise<ImportanceResponse> {
    return this.client.request({ method: 'GET', path: `/api/v1/explain/models/${enc(model)}/versions/${version}/importance` });
  }

  computeImportance(model: string, version: number, request: ImportanceRequest): Promise<ImportanceResponse> {
    return this.client.request({ method: 'POST', path: `/api/v1/explain/models/${enc(model)}/versions/${version}/importance`, body: request });
  }

  /** The version's HTML explanation report (`row`: the kept row drawn as a waterfall; `group`: the class). */
  report(model: string, version: number, options: { row?: number; group?: number } = {}): Promise<string> {
    const query = new URLSearchParams();
    if (options.row !== undefined) query.set('row', String(options.row));
    if (options.group !== undefined) query.set('class', String(options.group));
    const q = query.size > 0 ? `?${query}` : '';
    return this.client.request<string>({ method: 'GET', path: `/api/v1/explain/models/${enc(model)}/versions/${version}/report${q}` });
  }

  /** Explains this share (0..1) of a deployment's requests as they are served, stored by request id. */
  setLogging(deployment: string, rate: number): Promise<{ deployment: string; rate: number }> {
    return this.client.request({ method: 'PUT', path: `/api/v1/explain/logging/${enc(deployment)}`, body: { rate } });
  }

  logging(): Promise<{ deployments: Record<string, number>; stats: { sampled: number; written: number; dropped: number; failed: number; queued: number } }> {
    return this.client.request({ method: 'GET', path: '/api/v1/explain/logging' });
  }
}
