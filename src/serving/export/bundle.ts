/**
 * Edge export: a registered model version as ONNX (`model.onnx`; tree models converted to an
 * ONNX TreeEnsemble), or as a bundle that runs without modelport: the ONNX model, its
 * signature, a dependency-free ES module that checks inputs and calls onnxruntime-web or
 * onnxruntime-node, and a README.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { failedPrecondition, invalidArgument } from '../../core/errors.js';
import { loadModel, parseXgboost, resolveArtifact, xgboostToOnnx, type TensorSpec } from '../../models/index.js';
import type { ModelSource } from '../source.js';
import { RUNTIME_MODULE } from './runtime-module.js';

export type ExportFormat = 'onnx' | 'bundle';

export interface BundleSignature {
  model: string;
  version: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** For a model of one vector input: the names of its elements (a tree model's features). */
  features?: string[];
}

export interface ExportResult {
  files: string[];
  signature: BundleSignature;
}

async function onnxBytes(path: string, flavor: string | undefined): Promise<{ bytes: Uint8Array; features?: string[] }> {
  const artifact = await resolveArtifact(path, flavor);
  if (artifact.flavor === 'onnx') return { bytes: await readFile(artifact.path) };
  if (artifact.flavor === 'xgboost') {
    const model = parseXgboost(await readFile(artifact.path));
    return { bytes: xgboostToOnnx(model), features: model.featureNames };
  }
  throw failedPrecondition(`a ${artifact.flavor} model cannot be exported to ONNX (only onnx and xgboost models can)`);
}

function readme(sig: BundleSignature): string {
  const row = sig.features ? `{ ${sig.features.slice(0, 3).map((f) => `${f}: 1.0`).join(', ')}, ... }` : `{ ${sig.inputs.map((i) => `${i.name}: ${i.shape.length ? '[...]' : '1.0'}`).join(', ')} }`;
  const spec = (t: TensorSpec) => `- \`${t.name}\`: ${t.dtype}${t.shape.length ? `[${t.shape.join(', ')}]` : ''} per row`;
  return `# ${sig.model} version ${sig.version} (modelport edge bundle)

Files: \`model.onnx\` (the model), \`signature.json\` (its inputs and outputs), \`model.mjs\`
(a dependency-free ES module that checks rows against the signature and runs the model with the
onnxruntime you give it).

Inputs:
${sig.inputs.map(spec).join('\n')}
${sig.features ? `\nA row may name the ${sig.features.length} features instead: ${sig.features.join(', ')}.\n` : ''}
Outputs:
${sig.outputs.map(spec).join('\n')}

## Node

\`\`\`js
import * as ort from 'onnxruntime-node';
import { readFile } from 'node:fs/promises';
import { load } from './model.mjs';

const signature = JSON.parse(await readFile('signature.json', 'utf8'));
const model = await load(ort, await readFile('model.onnx'), signature);
console.log(await model.predict([${row}]));
\`\`\`

## Browser

\`\`\`js
import * as ort from 'onnxruntime-web';
import { load } from './model.mjs';

const signature = await (await fetch('signature.json')).json();
const bytes = new Uint8Array(await (await fetch('model.onnx')).arrayBuffer());
const model = await load(ort, bytes, signature);
const predictions = await model.predict([${row}]);
\`\`\`

A row that does not fit (a missing or unknown feature, a value that is not a number) is refused
with an \`InputError\` naming the row and the field.
`;
}

/** Writes the export of `model` version `version` into `dir` and lists the files written. */
export async function exportModel(source: Pick<ModelSource, 'resolve'>, model: string, version: number, format: ExportFormat, dir: string): Promise<ExportResult> {
  if (format !== 'onnx' && format !== 'bundle') throw invalidArgument(`--format: "${format}" must be onnx or bundle`);
  const resolved = await source.resolve(model, { version });
  const { bytes, features } = await onnxBytes(await resolved.materialize(), resolved.flavor);
  await mkdir(dir, { recursive: true });
  const onnxPath = join(dir, 'model.onnx');
  await writeFile(onnxPath, bytes);
  // Loading the written file checks that onnxruntime accepts it, and reads its signature.
  const predictor = await loadModel(onnxPath, { flavor: 'onnx' });
  const { inputs, outputs } = predictor.signature;
  await predictor.close();
  const vector = inputs.length === 1 && inputs[0].shape.length === 1;
  const signature: BundleSignature = { model, version, inputs: [...inputs], outputs: [...outputs], features: vector && features?.length === inputs[0].shape[0] ? features : undefined };
  const files = [onnxPath];
  if (format === 'bundle') {
    const written: [string, string][] = [
      ['signature.json', `${JSON.stringify(signature, null, 2)}\n`],
      ['model.mjs', RUNTIME_MODULE],
      ['README.md', readme(signature)],
    ];
    for (const [name, text] of written) {
      await writeFile(join(dir, name), text);
      files.push(join(dir, name));
    }
  }
  return { files, signature };
}
