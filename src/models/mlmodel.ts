/**
 * Reads the MLflow `MLmodel` file a registered model folder carries: its flavors and where each
 * flavor's data lives, and its signature when it has one.
 */
import { readFile } from 'node:fs/promises';
import { yaml } from '../core/yaml.js';
import { invalidArgument } from '../core/errors.js';
import type { DType } from './batch.js';
import type { Signature, TensorSpec } from './signature.js';

export interface MLmodel {
  flavors: Record<string, Record<string, unknown>>;
  signature?: Signature;
  /**
   * Inputs marked as personal data: by a `pii` key on a signature column, or in MLflow's
   * free-form `metadata` as `pii: {column: hash|drop}` (which MLflow clients leave alone).
   */
  pii: Map<string, 'hash' | 'drop'>;
  raw: Record<string, unknown>;
}

const isPiiMark = (v: unknown): v is 'hash' | 'drop' => v === 'hash' || v === 'drop';

function piiMarks(doc: Record<string, unknown>, signature: Signature | undefined, file: string): Map<string, 'hash' | 'drop'> {
  const marks = new Map<string, 'hash' | 'drop'>();
  for (const s of signature?.inputs ?? []) if (s.pii) marks.set(s.name, s.pii);
  const declared = (doc.metadata as { pii?: unknown } | undefined)?.pii;
  if (declared === undefined) return marks;
  if (!declared || typeof declared !== 'object' || Array.isArray(declared)) throw invalidArgument(`MLmodel ${file}: metadata.pii must map input names to hash or drop`);
  for (const [name, how] of Object.entries(declared)) {
    if (!isPiiMark(how)) throw invalidArgument(`MLmodel ${file}: metadata.pii.${name} must be "hash" or "drop", got ${JSON.stringify(how)}`);
    marks.set(name, how);
  }
  return marks;
}

export async function readMLmodel(file: string): Promise<MLmodel> {
  let raw: unknown;
  try {
    raw = yaml().parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw invalidArgument(`MLmodel ${file}: not valid YAML (${(err as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument(`MLmodel ${file}: expected a mapping`);
  const doc = raw as Record<string, unknown>;
  const flavors = doc.flavors;
  if (!flavors || typeof flavors !== 'object') throw invalidArgument(`MLmodel ${file}: has no flavors`);
  const signature = parseSignature(doc.signature);
  return { flavors: flavors as MLmodel['flavors'], signature, pii: piiMarks(doc, signature, file), raw: doc };
}

/** MLflow column types and tensor dtypes (numpy names) to ours. */
const MLFLOW_TYPES: Record<string, DType> = {
  double: 'float64',
  float: 'float32',
  long: 'int64',
  integer: 'int32',
  boolean: 'bool',
  string: 'string',
  float64: 'float64',
  float32: 'float32',
  float16: 'float16',
  int64: 'int64',
  int32: 'int32',
  int16: 'int16',
  int8: 'int8',
  uint64: 'uint64',
  uint32: 'uint32',
  uint16: 'uint16',
  uint8: 'uint8',
  bool: 'bool',
  str: 'string',
  object: 'string',
};

interface MlflowSpec {
  name?: string;
  type?: string;
  pii?: unknown;
  'tensor-spec'?: { dtype?: string; shape?: number[] };
}

function parseSpecs(text: unknown): TensorSpec[] | undefined {
  if (typeof text !== 'string') return undefined;
  let list: MlflowSpec[];
  try {
    list = JSON.parse(text) as MlflowSpec[];
  } catch {
    return undefined;
  }
  if (!Array.isArray(list)) return undefined;
  const specs: TensorSpec[] = [];
  list.forEach((s, i) => {
    const name = s.name ?? (list.length === 1 ? 'input' : String(i));
    if (s.type === 'tensor' && s['tensor-spec']) {
      const dtype = MLFLOW_TYPES[s['tensor-spec'].dtype ?? ''];
      if (!dtype) return;
      const shape = s['tensor-spec'].shape ?? [-1];
      specs.push({ name, dtype, shape: shape.slice(1), ...(isPiiMark(s.pii) ? { pii: s.pii } : {}) });
    } else if (s.type && MLFLOW_TYPES[s.type]) {
      specs.push({ name, dtype: MLFLOW_TYPES[s.type], shape: [], ...(isPiiMark(s.pii) ? { pii: s.pii } : {}) });
    }
  });
  return specs.length === list.length ? specs : undefined;
}

function parseSignature(value: unknown): Signature | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const sig = value as Record<string, unknown>;
  const inputs = parseSpecs(sig.inputs);
  if (!inputs) return undefined;
  return { inputs, outputs: parseSpecs(sig.outputs) ?? [] };
}
