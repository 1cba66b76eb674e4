/**
 * Batch jobs through the SDK: the jobs API (submit, follow, cancel, download), and scoring a
 * local batch job's chunks on a server over the Open Inference (V2) protocol, whose typed
 * tensors carry the rows without a detour through JSON records.
 */
import { fromTensors, type Batch, type Signature, type TensorSpec } from '../models/index.js';
import { V2_DATATYPES } from '../models/index.js';
import { DTYPE_TO_V2, type V2Response } from '../serving/index.js';
import { flatValues } from '../serving/codecs/tensors.js';
import type { Scorer } from '../serving/jobs/run.js';
import { errorFromResponse, type ModelportClient } from './client.js';
import type { JobJson } from '../server/jobs.js';

export type { JobJson } from '../server/jobs.js';

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

export interface SubmitJobRequest {
  deployment: string;
  input: { sha256?: string; dataset?: string; format?: 'csv' | 'jsonl' | 'parquet' };
  output_format?: 'csv' | 'jsonl' | 'parquet';
  keep?: string[];
  chunk_rows?: number;
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

/** The batch jobs API: submit, follow, cancel, download. */
export class JobsClient {
  constructor(private readonly client: ModelportClient) {}

  submit(request: SubmitJobRequest): Promise<JobJson> {
    return this.client.request({ method: 'POST', path: '/api/v1/jobs', body: request });
  }

  list(query: { deployment?: string; state?: string; limit?: number } = {}): Promise<JobJson[]> {
    return this.client.request<{ jobs: JobJson[] }>({ method: 'GET', path: '/api/v1/jobs', query }).then((r) => r.jobs);
  }

  get(id: string): Promise<JobJson> {
    return this.client.request({ method: 'GET', path: `/api/v1/jobs/${encodeURIComponent(id)}` });
  }

  cancel(id: string): Promise<JobJson> {
    return this.client.request({ method: 'POST', path: `/api/v1/jobs/${encodeURIComponent(id)}/cancel` });
  }

  /** Polls until the job has finished, either way; `onProgress` sees every state read. */
  async wait(id: string, onProgress?: (job: JobJson) => void, intervalMs = 500): Promise<JobJson> {
    for (;;) {
      const job = await this.get(id);
      onProgress?.(job);
      if (FINISHED.has(job.state)) return job;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /** The output file's bytes. */
  async output(id: string): Promise<Buffer> {
    const res = await this.client.transport.request({ method: 'GET', path: `/api/v1/jobs/${encodeURIComponent(id)}/output` });
    if (res.status >= 400) throw errorFromResponse(res.status, JSON.parse(res.body.toString('utf8')));
    return res.body;
  }
}
