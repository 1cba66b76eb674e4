/**
 * Batch jobs through the SDK: scoring a batch job's chunks on a server over the Open Inference
 * (V2) protocol, whose typed tensors carry the rows without a detour through JSON records.
 */
import { fromTensors, type Batch, type Signature, type TensorSpec } from '../models/index.js';
import { V2_DATATYPES } from '../models/index.js';
import { DTYPE_TO_V2, type V2Response } from '../serving/index.js';
import { flatValues } from '../serving/codecs/tensors.js';
import type { Scorer } from '../serving/jobs/run.js';
import type { ModelportClient } from './client.js';

interface V2Metadata {
  name: string;
  versions: string[];
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
}

const specOf = (t: { name: string; datatype: string; shape: number[] }): TensorSpec => ({ name: t.name, dtype: V2_DATATYPES[t.datatype], shape: t.shape.slice(1) });

/** A scorer that sends each chunk to deployment `name` on the client's server. */
export async function serverScorer(client: ModelportClient, name: string): Promise<Scorer> {
  const path = `/v2/models/${encodeURIComponent(name)}`;
  const meta = await client.request<V2Metadata>({ method: 'GET', path });
  const signature: Signature = { inputs: meta.inputs.map(specOf), outputs: meta.outputs.map(specOf) };
  const version = meta.versions[0];
  const outputs: Signature = { inputs: signature.outputs, outputs: [] };
  return {
    identity: `${name} version ${version} (on the server)`,
    signature,
    async score(batch: Batch) {
      const inputs = [...batch.columns].map(([n, col]) => ({ name: n, datatype: DTYPE_TO_V2[col.dtype], shape: [batch.rows, ...col.shape], data: flatValues(col) }));
      const res = await client.request<V2Response>({ method: 'POST', path: `${path}/versions/${version}/infer`, body: { inputs } });
      return fromTensors(res.outputs, outputs);
    },
  };
}
