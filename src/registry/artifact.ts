/**
 * Model artifacts in the registry: a folder laid out as MLflow writes it (an `MLmodel` file plus
 * the flavor's files), stored as content-addressed blobs and a manifest (path → sha256). The
 * version's sha256 is the hash of the canonical manifest text, so it covers every byte.
 *
 * Validation is cheap and streaming-friendly: it reads at most the first 64 KiB of the model
 * file (ONNX protobuf fields, the XGBoost "learner" object in JSON or UBJSON, a JS entry file).
 */
import { createHash, randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { yaml } from '../core/yaml.js';
import { failedPrecondition, invalidArgument } from '../core/errors.js';
import { parsePreprocessText, PREPROCESS_FILE, rawInputs } from '../models/preprocess.js';
import type { BlobStore } from '../storage/blobs.js';

export interface ManifestFile {
  path: string;
  sha256: string;
  size: number;
}

export interface Manifest {
  files: ManifestFile[];
}

export const MODELPORT_FLAVORS = ['onnx', 'xgboost', 'js'] as const;
export type ModelFlavor = (typeof MODELPORT_FLAVORS)[number];

export function isModelFlavor(f: string): f is ModelFlavor {
  return (MODELPORT_FLAVORS as readonly string[]).includes(f);
}

/** A relative POSIX path inside the artifact; anything that could escape the folder is refused. */
export function checkArtifactPath(path: string): string {
  const normalized = posix.normalize(path.replace(/\\/g, '/'));
  if (path === '' || normalized.startsWith('/') || normalized === '.' || normalized.split('/').includes('..') || normalized !== path) {
    throw invalidArgument(`artifact path "${path}" must be a relative path inside the model folder (no "..", no leading "/")`);
  }
  return path;
}

/** The manifest as canonical text (files sorted by path) and its sha256. */
export function encodeManifest(files: ManifestFile[]): { text: string; sha256: string; size: number } {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].path === sorted[i - 1].path) throw invalidArgument(`artifact path "${sorted[i].path}" is listed twice`);
  }
  const text = JSON.stringify({ files: sorted.map((f) => ({ path: f.path, sha256: f.sha256, size: f.size })) });
  return { text, sha256: sha256Text(text), size: sorted.reduce((n, f) => n + f.size, 0) };
}

export function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Parses a stored manifest, refusing it unless it still hashes to the version's sha256. */
export function decodeManifest(text: string, sha256: string, what: string): Manifest {
  const actual = sha256Text(text);
  if (actual !== sha256) throw failedPrecondition(`${what}: manifest is corrupt (hashes to ${actual}, expected ${sha256})`);
  return JSON.parse(text) as Manifest;
}

const HEAD_BYTES = 64 * 1024;

async function readHead(stream: Readable, max = HEAD_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= max) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, max);
}

async function readSmall(blobs: BlobStore, file: ManifestFile, max: number, what: string): Promise<Buffer> {
  if (file.size > max) throw invalidArgument(`${what} ${file.path} is ${file.size} bytes; at most ${max} are accepted`);
  const chunks: Buffer[] = [];
  for await (const chunk of await blobs.get(file.sha256)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** ModelProto's top-level fields and their protobuf wire types (0 varint, 2 length-delimited). */
const ONNX_FIELDS: Record<number, number> = { 1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 21: 2, 25: 2 };

function readVarint(buf: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    value += (buf[i] & 0x7f) * scale;
    scale *= 128;
    if ((buf[i] & 0x80) === 0) return { value, next: i + 1 };
  }
  return undefined;
}

/** True when the bytes walk as an ONNX ModelProto: known fields only, ir_version, and a graph. */
export function looksLikeOnnx(head: Buffer, totalSize: number): boolean {
  let at = 0;
  let irVersion = false;
  let graph = false;
  while (at < head.length) {
    const tag = readVarint(head, at);
    if (!tag) return irVersion && graph;
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (ONNX_FIELDS[field] !== wire) return false;
    if (wire === 0) {
      const v = readVarint(head, tag.next);
      if (!v) return false;
      if (field === 1) irVersion = v.value >= 1 && v.value <= 100;
      at = v.next;
    } else {
      const len = readVarint(head, tag.next);
      if (!len) return false;
      const end = len.next + len.value;
      if (end > totalSize) return false;
      if (field === 7) graph = true;
      // A field running past the head (a large graph) cannot be walked further; what was seen decides.
      if (end > head.length) return irVersion && graph;
      at = end;
    }
  }
  return irVersion && graph && (at === totalSize || head.length < totalSize);
}

/** XGBoost's save_model output: JSON or UBJSON whose first object holds "learner". */
export function looksLikeXgboost(head: Buffer): boolean {
  const text = head.subarray(0, 256);
  let start = 0;
  while (start < text.length && /\s/.test(String.fromCharCode(text[start]))) start++;
  return text[start] === 0x7b && text.includes('learner');
}

const JS_ENTRIES = ['model.js', 'model.mjs', 'index.js', 'index.mjs'];
const XGB_EXTENSIONS = ['.json', '.ubj', '.ubjson', '.xgb', '.bst'];

export interface InspectedArtifact {
  /** undefined: an MLflow model of a flavor modelport does not serve (kept, verified, not loadable). */
  flavor?: ModelFlavor;
  /** The file (or, for js, the module) the flavor loads. */
  dataPath?: string;
  /** The MLmodel document (parsed), as found or as generated. */
  mlmodel: Record<string, unknown>;
  /** When the MLmodel was generated here, its text (to be stored as a file of the artifact). */
  generatedMlmodel?: string;
  signature?: unknown;
  inputExample?: unknown;
  modelUuid?: string;
}

export interface InspectOptions {
  flavor?: string;
  /**
   * Reads a bare model file's signature (as MLflow writes it) for the generated MLmodel, e.g. by
   * loading it with the runtimes; throws InvalidArgument when the file is not a working model.
   */
  describe?: (flavor: ModelFlavor, file: ManifestFile) => Promise<unknown>;
  /** MLflow signature ({inputs, outputs} as JSON strings or objects) to write when generating MLmodel. */
  signature?: unknown;
  inputExample?: unknown;
  now: number;
}

const expected: Record<ModelFlavor, string> = {
  onnx: 'an ONNX model (a protobuf ModelProto with ir_version and a graph, as onnx.save writes it)',
  xgboost: 'an XGBoost model (JSON or UBJSON written by Booster.save_model, with a "learner" object)',
  js: `a JavaScript model module (${JS_ENTRIES.join(', ')} or the file named by MLmodel's js.module)`,
};

/**
 * Which flavor the files hold and whether the model file really is one; throws InvalidArgument
 * saying what was expected. A preprocessing step among the files is checked, and the version's
 * signature is then the raw columns callers send (the model file's own stays in MLmodel).
 */
export async function inspectArtifact(blobs: BlobStore, files: ManifestFile[], options: InspectOptions): Promise<InspectedArtifact> {
  const step = files.find((f) => f.path === PREPROCESS_FILE);
  const inspected = await inspectModelFiles(blobs, step ? files.filter((f) => f !== step) : files, options);
  if (!step) return inspected;
  const spec = parsePreprocessText((await readSmall(blobs, step, 1 << 20, PREPROCESS_FILE)).toString('utf8'));
  const columns = rawInputs(spec).map((s) => ({ type: s.dtype === 'string' ? 'string' : 'double', name: s.name }));
  const own = inspected.signature && typeof inspected.signature === 'object' ? (inspected.signature as Record<string, unknown>) : {};
  return { ...inspected, signature: { ...own, inputs: JSON.stringify(columns) } };
}

async function inspectModelFiles(blobs: BlobStore, files: ManifestFile[], options: InspectOptions): Promise<InspectedArtifact> {
  if (options.flavor !== undefined && !isModelFlavor(options.flavor)) {
    throw invalidArgument(`flavor "${options.flavor}" is not one of ${MODELPORT_FLAVORS.join(', ')}`, { field: 'flavor' });
  }
  if (files.length === 0) throw invalidArgument('the model artifact has no files');
  const byPath = new Map(files.map((f) => [f.path, f]));
  const mlmodelFile = byPath.get('MLmodel');
  if (mlmodelFile) return inspectMlflowFolder(blobs, byPath, mlmodelFile, options);

  const wanted = options.flavor as ModelFlavor | undefined;
  const candidates: { flavor: ModelFlavor; file: ManifestFile }[] = [];
  for (const file of files) {
    const lower = file.path.toLowerCase();
    if (lower.endsWith('.onnx') || lower.endsWith('.ort')) candidates.push({ flavor: 'onnx', file });
    else if (XGB_EXTENSIONS.some((e) => lower.endsWith(e))) candidates.push({ flavor: 'xgboost', file });
    else if (JS_ENTRIES.includes(file.path) || (files.length === 1 && /\.(m?js)$/.test(lower))) candidates.push({ flavor: 'js', file });
  }
  let pick = candidates.find((c) => !wanted || c.flavor === wanted);
  if (!pick && wanted && files.length === 1) pick = { flavor: wanted, file: files[0] };
  if (!pick) {
    throw invalidArgument(
      wanted
        ? `no ${wanted} model found among ${files.map((f) => f.path).join(', ')}: expected ${expected[wanted]}`
        : `cannot tell the flavor of ${files.map((f) => f.path).join(', ')}: expected an MLmodel file, a .onnx file, an XGBoost .json/.ubj model or a JS module; pass --flavor`,
      { field: 'flavor' },
    );
  }
  await validateModelFile(blobs, pick.flavor, pick.file);
  const signature = options.signature ?? (await options.describe?.(pick.flavor, pick.file));
  const mlmodel = generateMlmodel(pick.flavor, pick.file.path, { ...options, signature });
  return {
    flavor: pick.flavor,
    dataPath: pick.file.path,
    mlmodel,
    generatedMlmodel: yaml().stringify(mlmodel),
    signature: mlmodel.signature,
    inputExample: options.inputExample,
    modelUuid: mlmodel.model_uuid as string,
  };
}

async function validateModelFile(blobs: BlobStore, flavor: ModelFlavor, file: ManifestFile): Promise<void> {
  if (flavor === 'js') {
    if (!/\.(m?js|ts|mts)$/.test(file.path)) throw invalidArgument(`${file.path}: expected ${expected.js}`);
    return;
  }
  const head = await readHead(await blobs.get(file.sha256));
  const ok = flavor === 'onnx' ? looksLikeOnnx(head, file.size) : looksLikeXgboost(head);
  if (!ok) throw invalidArgument(`${file.path} is not a valid ${flavor} model: expected ${expected[flavor]}`, { field: 'flavor' });
}

async function inspectMlflowFolder(
  blobs: BlobStore,
  byPath: Map<string, ManifestFile>,
  mlmodelFile: ManifestFile,
  options: InspectOptions,
): Promise<InspectedArtifact> {
  let doc: unknown;
  try {
    doc = yaml().parse((await readSmall(blobs, mlmodelFile, 1 << 20, 'MLmodel')).toString('utf8'));
  } catch (err) {
    if ((err as { code?: string }).code === 'InvalidArgument') throw err;
    throw invalidArgument(`MLmodel is not valid YAML: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw invalidArgument('MLmodel: expected a YAML mapping');
  const mlmodel = doc as Record<string, unknown>;
  const flavors = mlmodel.flavors as Record<string, Record<string, unknown> | null> | undefined;
  if (!flavors || typeof flavors !== 'object') throw invalidArgument('MLmodel has no flavors section');
  const declared = Object.keys(flavors);
  let flavor: ModelFlavor | undefined;
  if (options.flavor) {
    if (!declared.includes(options.flavor)) throw invalidArgument(`MLmodel has no "${options.flavor}" flavor (it declares ${declared.join(', ')})`, { field: 'flavor' });
    flavor = options.flavor as ModelFlavor;
  } else {
    // An MLflow model of another flavor (sklearn, pytorch...) is still registered, as MLflow
    // would; it simply cannot be served by modelport's runtimes.
    flavor = MODELPORT_FLAVORS.find((f) => declared.includes(f));
  }
  const dataFile = flavor ? await flavorFile(blobs, byPath, flavor, flavors[flavor] ?? {}) : undefined;
  let inputExample = options.inputExample;
  const exampleInfo = mlmodel.saved_input_example_info as { artifact_path?: unknown } | undefined;
  const examplePath = typeof exampleInfo?.artifact_path === 'string' ? exampleInfo.artifact_path : undefined;
  const exampleFile = examplePath ? byPath.get(examplePath) : undefined;
  if (inputExample === undefined && exampleFile && exampleFile.size <= 1 << 20) {
    try {
      inputExample = JSON.parse((await readSmall(blobs, exampleFile, 1 << 20, 'input example')).toString('utf8'));
    } catch {
      // An unreadable example is not a reason to refuse the model; it is simply not shown.
    }
  }
  return {
    flavor,
    dataPath: dataFile?.path,
    mlmodel,
    signature: mlmodel.signature ?? undefined,
    inputExample,
    modelUuid: typeof mlmodel.model_uuid === 'string' ? mlmodel.model_uuid : undefined,
  };
}

/** The file MLmodel's flavor section names (`data`, or `module` for js), checked to be a model of that flavor. */
async function flavorFile(blobs: BlobStore, byPath: Map<string, ManifestFile>, flavor: ModelFlavor, section: Record<string, unknown>): Promise<ManifestFile> {
  const dataKey = flavor === 'js' ? 'module' : 'data';
  const dataPath = typeof section[dataKey] === 'string' ? (section[dataKey] as string) : JS_ENTRIES.find((e) => byPath.has(e));
  const dataFile = dataPath === undefined ? undefined : byPath.get(dataPath);
  if (!dataFile) {
    throw invalidArgument(`MLmodel's ${flavor} flavor names ${dataKey} "${dataPath ?? '(none)'}", which is not in the artifact: expected ${expected[flavor]}`);
  }
  await validateModelFile(blobs, flavor, dataFile);
  return dataFile;
}

/** `utc_time_created` as MLflow writes it: str(datetime.utcnow()). */
function mlflowTime(ms: number): string {
  return `${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}000`;
}

/** An MLmodel file in MLflow's layout for a model registered as a bare file. */
export function generateMlmodel(flavor: ModelFlavor, dataPath: string, options: InspectOptions): Record<string, unknown> {
  const flavors: Record<string, unknown> = {};
  if (flavor === 'onnx') {
    flavors.onnx = { code: null, data: dataPath, providers: ['CPUExecutionProvider'] };
    flavors.python_function = { data: dataPath, loader_module: 'mlflow.onnx' };
  } else if (flavor === 'xgboost') {
    const format = dataPath.toLowerCase().endsWith('.json') ? 'json' : dataPath.toLowerCase().endsWith('.ubj') ? 'ubj' : 'xgb';
    flavors.xgboost = { code: null, data: dataPath, model_class: 'xgboost.core.Booster', model_format: format };
    flavors.python_function = { data: dataPath, loader_module: 'mlflow.xgboost' };
  } else {
    flavors.js = { module: dataPath };
  }
  const doc: Record<string, unknown> = {
    artifact_path: 'model',
    flavors,
    model_uuid: randomUUID().replace(/-/g, ''),
    utc_time_created: mlflowTime(options.now),
  };
  if (options.signature !== undefined) doc.signature = toMlflowSignature(options.signature);
  return doc;
}

/** MLflow keeps signature inputs/outputs as JSON strings inside the YAML. */
function toMlflowSignature(signature: unknown): Record<string, unknown> {
  if (!signature || typeof signature !== 'object') throw invalidArgument('signature must be an object with inputs and outputs', { field: 'signature' });
  const s = signature as Record<string, unknown>;
  const asText = (v: unknown) => (v === undefined || v === null ? null : typeof v === 'string' ? v : JSON.stringify(v));
  if (s.inputs === undefined) throw invalidArgument('signature.inputs is required', { field: 'signature.inputs' });
  return { inputs: asText(s.inputs), outputs: asText(s.outputs), params: asText(s.params) };
}
