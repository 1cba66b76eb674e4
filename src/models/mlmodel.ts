/**
 * Reads the MLflow `MLmodel` file a registered model folder carries: its flavors and where each
 * flavor's data lives, and its signature when it has one.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { invalidArgument } from '../core/errors.js';
import type { DType } from './batch.js';
import type { Signature, TensorSpec } from './signature.js';

export interface MLmodel {
  flavors: Record<string, Record<string, unknown>>;
  signature?: Signature;
  raw: Record<string, unknown>;
}

export async function readMLmodel(file: string): Promise<MLmodel> {
  let raw: unknown;
  try {
    raw = parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw invalidArgument(`MLmodel ${file}: not valid YAML (${(err as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument(`MLmodel ${file}: expected a mapping`);
  const doc = raw as Record<string, unknown>;
  const flavors = doc.flavors;
  if (!flavors || typeof flavors !== 'object') throw invalidArgument(`MLmodel ${file}: has no flavors`);
  return { flavors: flavors as MLmodel['flavors'], signature: parseSignature(doc.signature), raw: doc };
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
      specs.push({ name, dtype, shape: shape.slice(1) });
    } else if (s.type && MLFLOW_TYPES[s.type]) {
      specs.push({ name, dtype: MLFLOW_TYPES[s.type], shape: [] });
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
