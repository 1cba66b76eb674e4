/**
 * Typed SDK for serving: deployments (create, move, tune, delete) and prediction over both
 * protocols (Open Inference V2 and the MLflow scoring protocol).
 */
import { isModelportError } from '../core/errors.js';
import type { DeploymentJson, RevisionJson } from '../server/serving.js';
import type { AbJson, RolloutJson } from '../server/rollout-views.js';
import type { V2Request, V2Response } from '../serving/index.js';
import type { ModelportClient } from './client.js';

export type { DeploymentJson as DeploymentInfo, RevisionJson as RevisionInfo } from '../server/serving.js';
export type { RolloutJson as RolloutInfo, AbJson as AbInfo } from '../server/rollout-views.js';

export interface RolloutRequest {
  model?: string;
  version?: number;
  alias?: string;
  steps?: number[];
  min_step_seconds?: number;
  min_requests?: number;
  gates?: { max_error_rate_increase?: number; max_p99_ratio?: number; p99_slack_ms?: number; metric?: string; max_metric_drop?: number; min_feedback?: number };
  move_alias?: string;
}

export type RolloutAction = 'pause' | 'resume' | 'abort' | 'promote';
export type { V2Request, V2Response } from '../serving/index.js';

export interface DeploymentSettings {
  batching?: { max_batch_size?: number; max_queue_delay_us?: number; max_queue_size?: number; timeout_ms?: number };
  cache?: { enabled?: boolean; max_entries?: number; max_bytes?: number; ttl_ms?: number; shared?: boolean };
  rate_limit?: { enabled?: boolean; requests_per_second?: number; burst?: number; key?: 'token' | 'address'; shared?: boolean };
  routing?: { header?: string; input_field?: string; fallback?: string; breaker_failures?: number; breaker_cooldown_ms?: number; timeouts_ms?: Record<string, number> };
  threads?: number;
  executor?: 'auto' | 'worker' | 'event-loop';
  onnx_engine?: 'auto' | 'onnxruntime';
  /** A stream consumer every server runs for the deployment; null removes it. */
  stream?: { from: string; to: string; group?: string; dead_letter?: string; batch_size?: number } | null;
}

export interface VariantRequest {
  name: string;
  model: string;
  version?: number;
  alias?: string;
  weight?: number;
  shadow?: boolean;
  mirror?: number;
}

export interface DeployRequest extends DeploymentSettings {
  /** Deployment name; defaults to the model name. */
  name?: string;
  model?: string;
  version?: number;
  alias?: string;
  /** Several variants sharing traffic by weight (instead of model/version/alias). */
  variants?: VariantRequest[];
  /** Why: recorded with the revision the change makes. */
  reason?: string;
}

export class ServingClient {
  /** `actor` names who makes the changes (recorded with each revision). */
  constructor(
    private readonly client: ModelportClient,
    private readonly options: { actor?: string } = {},
  ) {}

  private get who(): Record<string, string> | undefined {
    return this.options.actor ? { 'x-modelport-user': this.options.actor } : undefined;
  }

  list(): Promise<DeploymentJson[]> {
    return this.client.request<{ deployments: DeploymentJson[] }>({ method: 'GET', path: '/api/v1/deployments' }).then((r) => r.deployments);
  }

  get(name: string): Promise<DeploymentJson> {
    return this.client.request({ method: 'GET', path: `/api/v1/deployments/${encodeURIComponent(name)}` });
  }

  create(request: DeployRequest): Promise<DeploymentJson> {
    return this.client.request({ method: 'POST', path: '/api/v1/deployments', body: request, headers: this.who });
  }

  update(name: string, patch: Omit<DeployRequest, 'name'>): Promise<DeploymentJson> {
    return this.client.request({ method: 'PATCH', path: `/api/v1/deployments/${encodeURIComponent(name)}`, body: patch, headers: this.who });
  }

  /** Every change of a deployment, newest first. */
  revisions(name: string, limit?: number): Promise<RevisionJson[]> {
    return this.client
      .request<{ revisions: RevisionJson[] }>({ method: 'GET', path: `/api/v1/deployments/${encodeURIComponent(name)}/revisions`, query: { limit } })
      .then((r) => r.revisions);
  }

  /** Starts a canary rollout: the canary takes the first step's share at once. */
  startRollout(name: string, request: RolloutRequest): Promise<RolloutJson> {
    return this.client.request({ method: 'POST', path: `/api/v1/deployments/${encodeURIComponent(name)}/rollout`, body: request, headers: this.who });
  }

  /** The current (or last) rollout of a deployment; null when it never had one. */
  async rollout(name: string): Promise<RolloutJson | null> {
    return (await this.client.request<{ rollout: RolloutJson | null }>({ method: 'GET', path: `/api/v1/deployments/${encodeURIComponent(name)}/rollout` })).rollout;
  }

  /** A deployment's rollouts, newest first. */
  rollouts(name: string, limit?: number): Promise<RolloutJson[]> {
    return this.client
      .request<{ rollouts: RolloutJson[] }>({ method: 'GET', path: `/api/v1/deployments/${encodeURIComponent(name)}/rollouts`, query: { limit } })
      .then((r) => r.rollouts);
  }

  rolloutAction(name: string, action: RolloutAction): Promise<RolloutJson> {
    return this.client.request({ method: 'POST', path: `/api/v1/deployments/${encodeURIComponent(name)}/rollout/${action}`, headers: this.who });
  }

  /** The A/B analysis of a deployment's variants from feedback outcomes (kind 'none' before the first outcome). */
  ab(name: string, query: { control?: string; segment?: string; alpha?: number; mde?: number; from?: number; to?: number } = {}): Promise<AbJson> {
    return this.client.request({ method: 'GET', path: `/api/v1/deployments/${encodeURIComponent(name)}/ab`, query });
  }

  /** Restores the previous revision (or `to`) as a new revision. */
  rollback(name: string, options: { to?: number; reason?: string } = {}): Promise<DeploymentJson> {
    return this.client.request({ method: 'POST', path: `/api/v1/deployments/${encodeURIComponent(name)}/rollback`, body: options, headers: this.who });
  }

  /** Creates the deployment, or moves an existing one to the given version/alias and settings. */
  async deploy(request: DeployRequest): Promise<DeploymentJson> {
    const name = request.name ?? request.model ?? '';
    try {
      await this.get(name);
    } catch (err) {
      if (isModelportError(err) && err.code === 'NotFound') return this.create(request);
      throw err;
    }
    const { name: _name, ...patch } = request;
    return this.update(name, patch);
  }

  delete(name: string): Promise<void> {
    return this.client.request({ method: 'DELETE', path: `/api/v1/deployments/${encodeURIComponent(name)}` });
  }

  /** Open Inference Protocol inference against a deployment (and optionally one version). */
  infer(deployment: string, request: V2Request, version?: number): Promise<V2Response> {
    const path = `/v2/models/${encodeURIComponent(deployment)}${version === undefined ? '' : `/versions/${version}`}/infer`;
    return this.client.request({ method: 'POST', path, body: request });
  }

  /** MLflow scoring protocol: `{dataframe_split | dataframe_records | instances | inputs}` → predictions. */
  async predict(deployment: string, body: Record<string, unknown>): Promise<unknown> {
    const res = await this.client.request<{ predictions: unknown }>({ method: 'POST', path: `/deployments/${encodeURIComponent(deployment)}/invocations`, body });
    return res.predictions;
  }
}
