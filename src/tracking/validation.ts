/**
 * MLflow's input rules and limits (mlflow/utils/validation.py), with MLflow's wording where
 * clients or users may match on it. Every failure is INVALID_PARAMETER_VALUE.
 */
import { posix } from 'node:path';
import { invalidArgument } from '../core/errors.js';

export const LIMITS = {
  metricsPerBatch: 1000,
  paramsTagsPerBatch: 100,
  entitiesPerBatch: 1000,
  batchRequestBytes: 1_000_000,
  datasetsPerBatch: 1000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
  experimentNameLength: 500,
  experimentTagKeyLength: 250,
  experimentTagValueLength: 5000,
  datasetName: 500,
  datasetDigest: 36,
  datasetSource: 65_535,
  datasetSchema: 1_048_575,
  datasetProfile: 16_777_215,
  inputTagKey: 255,
  inputTagValue: 500,
  searchRunsMaxResults: 50_000,
  searchExperimentsMaxResults: 50_000,
} as const;

const KEY_CHARS = /^[/\w.\- ]*$/;
const BAD_CHARS =
  'Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), and slashes (/).';

/** Keys MLflow may treat as file names: they must already be a normalised relative path. */
function pathNotUnique(name: string): boolean {
  const norm = posix.normalize(name);
  return norm !== name || norm === '.' || norm.startsWith('..') || norm.startsWith('/');
}

const validKeys = new Set<string>();

export function checkKey(kind: 'metric' | 'parameter' | 'tag', key: unknown): string {
  if (typeof key === 'string' && validKeys.has(key)) return key;
  const label = kind === 'metric' ? 'Metric name' : kind === 'parameter' ? 'Param key' : 'Tag key';
  if (typeof key !== 'string' || key === '') {
    throw invalidArgument(`${kind === 'metric' ? 'Metric' : kind === 'parameter' ? 'Parameter' : 'Tag'} name cannot be empty. A key name must be provided.`);
  }
  if (!KEY_CHARS.test(key)) throw invalidArgument(`Invalid ${kind} name: '${key}'. ${BAD_CHARS}`);
  if (pathNotUnique(key)) {
    throw invalidArgument(
      `Invalid ${kind} name: '${key}'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '${posix.normalize(key)}'`,
    );
  }
  checkLength(label, LIMITS.keyLength, key);
  // Training loops log the same few keys millions of times; remember the ones already checked.
  if (validKeys.size < 100_000) validKeys.add(key);
  return key;
}

export function checkLength(what: string, limit: number, value: string): string {
  if (value.length > limit) {
    throw invalidArgument(`${what} '${value.slice(0, 250)}' had length ${value.length}, which exceeded length limit of ${limit}`);
  }
  return value;
}

/**
 * Over-long run param and tag values are cut to the limit, as MLflow 2.17's server does
 * (`_validate_length_limit(..., truncate=True)` with MLFLOW_TRUNCATE_LONG_VALUES on by default).
 */
export function truncateLong(value: string, limit: number): string {
  return value.length > limit ? value.slice(0, limit) : value;
}

export function checkBatchLimits(metrics: number, params: number, tags: number): void {
  const limit = (what: string, max: number, n: number) => {
    if (n > max) {
      throw invalidArgument(
        `A batch logging request can contain at most ${max} ${what}. Got ${n} ${what}. Please split up ${what} across multiple requests and try again.`,
      );
    }
  };
  limit('metrics', LIMITS.metricsPerBatch, metrics);
  limit('params', LIMITS.paramsTagsPerBatch, params);
  limit('tags', LIMITS.paramsTagsPerBatch, tags);
  limit('metrics, params, and tags', LIMITS.entitiesPerBatch, metrics + params + tags);
}

/**
 * A metric value as MLflow's proto JSON accepts it: a number, or the strings "NaN", "Infinity",
 * "-Infinity" and numeric text. Booleans are refused.
 */
export function metricValue(key: string, value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const t = value.trim();
    if (t === 'NaN') return NaN;
    if (t === 'Infinity' || t === 'inf') return Infinity;
    if (t === '-Infinity' || t === '-inf') return -Infinity;
    if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  }
  throw invalidArgument(
    `Got invalid value ${JSON.stringify(value)} for metric '${key}'. Please specify value as a valid double (64-bit floating point)`,
  );
}

const MAX_DOUBLE = 1.7976931348623157e308;

/** A metric value as MLflow's SQL store keeps it: NaN as 0 (flagged apart), ±Infinity as ±max double. */
export function storedMetricValue(value: number): number {
  if (Number.isNaN(value)) return 0;
  if (value === Infinity) return MAX_DOUBLE;
  return value === -Infinity ? -MAX_DOUBLE : value;
}

export function metricInteger(key: string, what: 'timestamp' | 'step', value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || (what === 'timestamp' && n < 0)) {
    throw invalidArgument(
      what === 'timestamp'
        ? `Got invalid timestamp ${JSON.stringify(value)} for metric '${key}'. Timestamp must be a nonnegative long (64-bit integer) `
        : `Got invalid step ${JSON.stringify(value)} for metric '${key}'. Step must be a valid long (64-bit integer).`,
    );
  }
  return n;
}

export function checkExperimentName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw invalidArgument(`Invalid experiment name: '${String(name ?? '')}'`);
  if (name.length > LIMITS.experimentNameLength) {
    throw invalidArgument(`Experiment name exceeds the maximum length of ${LIMITS.experimentNameLength} characters`);
  }
  return name;
}

/**
 * A path inside the artifact store: relative, no `..`, no backslashes or NULs. `.` segments and
 * doubled or trailing slashes are dropped, as MLflow's artifact repositories normalise them, so
 * `.`, `./d` and `d/.` name the root, `d` and `d`.
 */
export function checkArtifactPath(path: string, allowEmpty = true): string {
  const parts = path.split('/').filter((part) => part !== '' && part !== '.');
  const clean = parts.join('/');
  if ((clean === '' && !allowEmpty) || /[\\\0]/.test(path) || parts.includes('..') || clean.length > 1000) {
    throw invalidArgument(`Invalid path: ${path.slice(0, 250)}`);
  }
  return clean;
}
