/** The registry's domain objects and the ports it is given by other domains. */
import type { Readable } from 'node:stream';
import type { Stage } from './names.js';

export interface RegisteredModel {
  name: string;
  description?: string;
  userId?: string;
  createdAt: number;
  updatedAt: number;
  tags: Record<string, string>;
  aliases: { alias: string; version: number }[];
  /** The newest version in each stage. */
  latestVersions: ModelVersion[];
}

export type VersionStatus = 'PENDING_REGISTRATION' | 'READY' | 'FAILED_REGISTRATION';

export interface ModelVersion {
  name: string;
  version: number;
  createdAt: number;
  updatedAt: number;
  userId?: string;
  stage: Stage;
  description?: string;
  /** Where the artifact came from (an MLflow artifact URI, models:/..., or modelport's upload URI). */
  source: string;
  runId?: string;
  runLink?: string;
  status: VersionStatus;
  statusMessage?: string;
  tags: Record<string, string>;
  aliases: string[];
  flavor?: string;
  /** sha256 of the canonical manifest: covers every file of the artifact. */
  sha256?: string;
  /** Total bytes of the artifact's files. */
  size?: number;
  /** MLflow signature as in MLmodel ({inputs, outputs, params} JSON strings). */
  signature?: unknown;
  inputExample?: unknown;
  modelUuid?: string;
  parents: { name: string; version: number }[];
}

/** Who performs an operation. Until auth lands the server takes it from `x-modelport-user` / `x-modelport-roles`. */
export interface Actor {
  user?: string;
  roles?: string[];
  /** Whether an authenticated caller holds the admin role; unset without authentication (embedded use, auth off). */
  admin?: boolean;
}

export type ApprovalStatus = 'PENDING' | 'APPROVED' | 'REJECTED';

export interface Approval {
  id: string;
  name: string;
  version: number;
  /** 'alias': move `target` (an alias) to `version`; 'stage': transition `version` to `target`. */
  kind: 'alias' | 'stage';
  target: string;
  archiveExistingVersions: boolean;
  status: ApprovalStatus;
  requestedBy: string;
  requestedAt: number;
  requestComment?: string;
  decidedBy?: string;
  decidedAt?: number;
  decisionComment?: string;
}

export interface ApprovalPolicy {
  id: string;
  /** undefined: the global policy, used for models without their own. */
  model?: string;
  /** Aliases that need an approval to move; "*" protects every alias. */
  protectedAliases: string[];
  /** Stages that need an approval to enter, e.g. ["Production"]. */
  protectedStages: string[];
  /** Approver must hold one of these roles (when not empty). */
  approverRoles: string[];
  /** Approver must be one of these users (when not empty). */
  approvers: string[];
  createdAt: number;
  updatedAt: number;
}

/** What tracking tells the registry about a run, for lineage. */
export interface LineageRun {
  runId: string;
  experimentId?: string;
  name?: string;
  status?: string;
  tags: Record<string, string>;
  datasets: { name: string; digest: string; source?: string; sourceType?: string; context?: string }[];
  /** Registered model versions the run consumed (e.g. a fine-tuned base model). */
  modelInputs?: { name: string; version: number }[];
}

/** Port: run details from experiment tracking. */
export interface RunLookup {
  getRun(runId: string): Promise<LineageRun | undefined>;
}

/** Port: reading artifacts that live elsewhere (e.g. tracking's runs:/ and mlflow-artifacts:/ URIs). */
export interface ArtifactSource {
  /** The files under `uri` (relative paths), or undefined when this source does not serve the URI's scheme. */
  list(uri: string): Promise<{ path: string }[] | undefined>;
  open(uri: string, path: string): Promise<Readable>;
  /** Releases the source's connections when the registry closes. */
  close?(): Promise<void>;
}

/** Returns a reason (e.g. 'deployment "fraud" serves it') when the version must not be deleted. */
export type DeletionGuard = (version: { name: string; version: number }) => string | undefined | Promise<string | undefined>;

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  /** Only events of this model (undefined: all models). */
  model?: string;
  description?: string;
  status: 'ACTIVE' | 'DISABLED';
  hasSecret: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface WebhookDelivery {
  id: string;
  webhookId: string;
  event: string;
  payload: string;
  status: 'PENDING' | 'SUCCEEDED' | 'FAILED';
  attempts: number;
  responseStatus?: number;
  error?: string;
  nextAttemptAt?: number;
  createdAt: number;
  updatedAt: number;
}

export interface LineageNode {
  id: string;
  kind: 'model_version' | 'run' | 'dataset' | 'code';
  label: string;
  data: Record<string, unknown>;
}

export interface LineageGraph {
  root: string;
  nodes: LineageNode[];
  edges: { from: string; to: string; relation: 'produced_by' | 'trained_on' | 'code_version' | 'derived_from' }[];
}
