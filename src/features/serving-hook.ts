/**
 * Serving with a feature lookup: a deployment bound to a feature service takes entity keys,
 * request values and any model input the service does not supply; the model receives its
 * inputs in signature order, looked up online and computed by the on-demand transforms that
 * built its training data. Missing float features reach the model as NaN (tree models treat
 * that as missing); a missing integer, bool or string feature is refused, naming it.
 */
import { invalidArgument } from '../core/errors.js';
import { Batch, column, allocate, rowSize, type Column, type DType, type Signature, type TensorSpec } from '../models/index.js';
import type { RequestRewrite } from '../serving/input-hook.js';
import type { OnlineStore } from '../storage/online.js';
import { readOnline } from './read.js';
import { outputNames, type FeatureRepo } from './repo.js';
import type { Dtype, Value } from './types.js';

const MODEL_DTYPE: Record<Dtype, DType> = { float64: 'float64', float32: 'float32', int64: 'int64', int32: 'int32', string: 'string', bool: 'bool' };

export interface Binding {
  featureService: string;
  /** Join key → the dtype a request sends it as. */
  keys: Record<string, DType>;
}

export function buildRewrite(repo: FeatureRepo, binding: Binding, model: Signature, store: OnlineStore, now: () => number): RequestRewrite {
  const refs = repo.resolveFeatures(undefined, binding.featureService);
  const names = outputNames(refs);
  const featureAt = new Map(names.map((n, i) => [n, i]));
  const request: TensorSpec[] = Object.entries(binding.keys).map(([name, dtype]) => ({ name, dtype, shape: [] }));
  const requestFields = new Map<string, Dtype>();
  for (const name of new Set(refs.filter((r) => r.kind === 'on_demand').map((r) => r.view))) {
    for (const f of repo.onDemand.get(name)!.spec.request ?? []) requestFields.set(f.name, f.dtype);
  }
  for (const [name, dtype] of requestFields) if (!binding.keys[name]) request.push({ name, dtype: MODEL_DTYPE[dtype], shape: [] });
  for (const input of model.inputs) {
    if (featureAt.has(input.name)) {
      if (rowSize(input.shape) !== 1) throw invalidArgument(`model input "${input.name}" has shape [${input.shape.join(', ')}]; a feature is one value per row`);
    } else if (!request.some((r) => r.name === input.name)) request.push(input);
  }
  const requestSignature: Signature = { inputs: request, outputs: model.outputs };

  return {
    requestSignature,
    async assemble(batch: Batch): Promise<Batch> {
      const entities: Record<string, Value[]> = {};
      for (const key of Object.keys(binding.keys)) entities[key] = values(batch.column(key));
      const requestData: Record<string, Value[]> = {};
      for (const name of requestFields.keys()) requestData[name] = values(batch.column(name));
      const res = await readOnline(store, repo, { features: refs, entities, requestData }, now());
      const offset = res.results.length - refs.length;
      const cols: [string, Column][] = model.inputs.map((input) => {
        const at = featureAt.get(input.name);
        if (at === undefined) return [input.name, batch.column(input.name)];
        const result = res.results[offset + at];
        return [input.name, toColumn(input, result.values, result.statuses, entities)];
      });
      return Batch.from(cols, batch.rows);
    },
  };
}

function values(col: Column): Value[] {
  const out: Value[] = new Array(col.data.length);
  for (let i = 0; i < col.data.length; i++) {
    const v = col.data[i];
    out[i] = typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : (v as Value);
  }
  return out;
}

function toColumn(spec: TensorSpec, vals: Value[], statuses: string[], entities: Record<string, Value[]>): Column {
  const data = allocate(spec.dtype, vals.length);
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i];
    if (v === null) {
      if (spec.dtype === 'float64' || spec.dtype === 'float32') {
        (data as Float64Array)[i] = NaN;
        continue;
      }
      const who = Object.entries(entities).map(([k, col]) => `${k}=${col[i]}`).join(', ');
      throw invalidArgument(`feature "${spec.name}" is ${statuses[i]} for ${who}, and the model's ${spec.dtype} input cannot be missing`);
    }
    if (spec.dtype === 'string') (data as string[])[i] = String(v);
    else if (spec.dtype === 'int64' || spec.dtype === 'uint64') (data as BigInt64Array)[i] = BigInt(Math.trunc(Number(v)));
    else (data as Float64Array)[i] = Number(v);
  }
  return column(spec.dtype, data, spec.shape);
}
