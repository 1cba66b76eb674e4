/** MLflow's rules for registry names, tags, aliases, stages and versions, with MLflow's messages. */
import { invalidArgument } from '../core/errors.js';

/** An MLflow 3 logged model as a registry source: `models:/m-<32 hex>`. */
export const LOGGED_MODEL_URI = /^models:\/(m-[0-9a-f]{32})\/?$/;

export const STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type Stage = (typeof STAGES)[number];
/** Stages that `archive_existing_versions` may be used with (MLflow's "active" stages). */
export const ACTIVE_STAGES: readonly Stage[] = ['Staging', 'Production'];

const MAX_NAME = 256;
const MAX_TAG_KEY = 250;
const MAX_TAG_VALUE = 5000;
const MAX_ALIAS = 255;
const ALIAS = /^[\w-]*$/;

export function checkModelName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || name.trim() === '') throw invalidArgument(`Registered model name cannot be empty (parameter '${field}').`);
  if (name.length > MAX_NAME) throw invalidArgument(`Registered model name '${name.slice(0, 40)}…' is longer than ${MAX_NAME} characters.`);
  // Names appear in models:/NAME/VERSION URIs and in URL paths.
  if (name.includes('/')) throw invalidArgument(`Registered model name '${name}' must not contain '/'.`);
  return name;
}

export function checkVersion(version: unknown): number {
  const text = typeof version === 'number' ? String(version) : version;
  if (typeof text !== 'string' || !/^\d+$/.test(text.trim()) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw invalidArgument(`Parameter 'version' must be a positive integer, got '${String(version)}'.`);
  }
  return Number(text);
}

export function checkTag(key: unknown, value: unknown): { key: string; value: string } {
  if (typeof key !== 'string' || key === '') throw invalidArgument(`Tag key cannot be empty.`);
  if (key.length > MAX_TAG_KEY) throw invalidArgument(`Tag key '${key.slice(0, 40)}…' had length ${key.length}, which exceeded length limit of ${MAX_TAG_KEY}.`);
  if (typeof value !== 'string') throw invalidArgument(`Tag '${key}': value must be a string.`);
  if (value.length > MAX_TAG_VALUE) throw invalidArgument(`Tag '${key}': value had length ${value.length}, which exceeded length limit of ${MAX_TAG_VALUE}.`);
  return { key, value };
}

export function checkAlias(alias: unknown): string {
  if (typeof alias !== 'string' || alias === '') throw invalidArgument(`Registered model alias name cannot be empty.`);
  if (alias.length > MAX_ALIAS) throw invalidArgument(`Registered model alias name '${alias.slice(0, 40)}…' exceeded length limit of ${MAX_ALIAS}.`);
  if (!ALIAS.test(alias)) {
    throw invalidArgument(`Invalid alias name: '${alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-).`);
  }
  if (alias.toLowerCase() === 'latest') throw invalidArgument(`'${alias}' alias name (case insensitive) is reserved.`);
  if (/^v\d+$/i.test(alias)) throw invalidArgument(`Version alias name '${alias}' is reserved.`);
  return alias;
}

/** MLflow accepts stages case-insensitively and stores the canonical spelling. */
export function canonicalStage(stage: unknown): Stage {
  const found = typeof stage === 'string' ? STAGES.find((s) => s.toLowerCase() === stage.trim().toLowerCase()) : undefined;
  if (!found) throw invalidArgument(`Invalid Model Version stage: ${String(stage)}. Value must be one of ${STAGES.join(', ')}.`);
  return found;
}
