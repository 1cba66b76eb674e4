/** The registry's tables as Kysely sees them. Times are epoch milliseconds. */
export interface RegModelTable {
  id: string;
  name: string;
  description: string | null;
  user_id: string | null;
  created_ms: number;
  updated_ms: number;
  /** Version numbers are never reused, even after deletes: the next one to hand out. */
  next_version: number;
}

export interface RegModelTagTable {
  model_id: string;
  key: string;
  value: string;
}

export interface RegVersionTable {
  model_id: string;
  version: number;
  created_ms: number;
  updated_ms: number;
  user_id: string | null;
  stage: string;
  description: string | null;
  source: string;
  run_id: string | null;
  run_link: string | null;
  status: string;
  status_message: string | null;
  flavor: string | null;
  /** sha256 of the canonical manifest text, which lists every file's sha256. */
  sha256: string | null;
  size: number | null;
  manifest: string | null;
  signature: string | null;
  input_example: string | null;
  model_uuid: string | null;
  /** JSON list of {name, version} this version was derived from. */
  parents: string | null;
}

export interface RegVersionTagTable {
  model_id: string;
  version: number;
  key: string;
  value: string;
}

export interface RegAliasTable {
  model_id: string;
  alias: string;
  version: number;
  updated_ms: number;
  updated_by: string | null;
}

export interface RegPolicyTable {
  id: string;
  /** null: the global policy. */
  model_name: string | null;
  protected_aliases: string;
  protected_stages: string;
  approver_roles: string;
  approvers: string;
  created_ms: number;
  updated_ms: number;
}

export interface RegApprovalTable {
  id: string;
  model_name: string;
  version: number;
  kind: string;
  target: string;
  archive_existing: number;
  status: string;
  requested_by: string;
  requested_ms: number;
  request_comment: string | null;
  decided_by: string | null;
  decided_ms: number | null;
  decision_comment: string | null;
}

export interface RegWebhookTable {
  id: string;
  url: string;
  secret: string | null;
  events: string;
  model_name: string | null;
  description: string | null;
  status: string;
  created_ms: number;
  updated_ms: number;
}

export interface RegDeliveryTable {
  id: string;
  webhook_id: string;
  event: string;
  payload: string;
  status: string;
  attempts: number;
  response_status: number | null;
  error: string | null;
  next_attempt_ms: number | null;
  created_ms: number;
  updated_ms: number;
}

export interface RegistryTables {
  reg_model: RegModelTable;
  reg_model_tag: RegModelTagTable;
  reg_version: RegVersionTable;
  reg_version_tag: RegVersionTagTable;
  reg_alias: RegAliasTable;
  reg_policy: RegPolicyTable;
  reg_approval: RegApprovalTable;
  reg_webhook: RegWebhookTable;
  reg_delivery: RegDeliveryTable;
}
