/**
 * The registry of flavors and `loadModel`, which finds the flavor of an artifact: the MLmodel
 * file of an MLflow folder, else the files themselves (`.onnx`, an XGBoost JSON/UBJSON model,
 * a folder with a JS module).
 */
import { existsSync } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { failedPrecondition, invalidArgument, notFound } from '../core/errors.js';
import { findJsEntry, jsFlavor, loadJs } from './js/flavor.js';
import { readMLmodel } from './mlmodel.js';
import { onnxFlavor } from './onnx/flavor.js';
import type { Flavor, LoadOptions, Predictor } from './predictor.js';
import { PREPROCESS_FILE, PreprocessedPredictor, readPreprocess } from './preprocess.js';
import { markPii } from './signature.js';
import { xgboostFlavor } from './xgboost/flavor.js';

const flavors = new Map<string, Flavor>([
  [onnxFlavor.name, onnxFlavor],
  [xgboostFlavor.name, xgboostFlavor],
  [jsFlavor.name, jsFlavor],
]);

/** Adds (or replaces) a flavor, e.g. a LightGBM runtime. */
export function registerFlavor(flavor: Flavor): void {
  flavors.set(flavor.name, flavor);
}

export function flavorNames(): string[] {
  return [...flavors.keys()];
}

export interface ResolvedArtifact {
  flavor: string;
  /** The file or folder the flavor loads. */
  path: string;
  /** For js models declared in MLmodel: the module file relative to the folder. */
  module?: string;
  /** The MLmodel's PII markings of input columns, when it has any. */
  pii?: ReadonlyMap<string, 'hash' | 'drop'>;
}

const XGBOOST_EXTENSIONS = new Set(['.json', '.ubj', '.ubjson', '.xgb', '.bst']);
const JS_EXTENSIONS = new Set(['.js', '.mjs', '.ts', '.mts']);

/** True when the file starts like an XGBoost JSON or UBJSON model ("learner" near the start). */
async function looksLikeXgboost(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(256);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    const head = buf.subarray(0, bytesRead);
    return head[0] === 0x7b && head.includes('learner');
  } finally {
    await handle.close();
  }
}

async function detectFile(file: string): Promise<string | undefined> {
  const ext = extname(file).toLowerCase();
  if (ext === '.onnx' || ext === '.ort') return 'onnx';
  if (JS_EXTENSIONS.has(ext)) return 'js';
  if (XGBOOST_EXTENSIONS.has(ext) && (await looksLikeXgboost(file))) return 'xgboost';
  return undefined;
}

/** Which flavor and file an artifact path holds (no model is loaded). */
export async function resolveArtifact(path: string, flavor?: string): Promise<ResolvedArtifact> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw notFound(`model artifact ${path} does not exist`);
  }
  if (!info.isDirectory()) {
    const detected = flavor ?? (await detectFile(path));
    if (!detected) throw invalidArgument(`cannot tell the flavor of ${path}; pass flavor (one of ${flavorNames().join(', ')})`);
    return { flavor: detected, path };
  }
  const mlmodel = join(path, 'MLmodel');
  if (existsSync(mlmodel)) {
    const { flavors: sections, pii } = await readMLmodel(mlmodel);
    const marked = pii.size > 0 ? { pii } : {};
    const artifact = fromMLmodelFlavors(path, sections, flavor);
    if (artifact.flavor === 'js' || !(await stat(artifact.path)).isDirectory()) return { ...artifact, ...marked };
    return { ...(await scanFolder(artifact.path, artifact.flavor)), ...marked };
  }
  return scanFolder(path, flavor);
}

/** The first model file in a folder (by name), else a JS module folder. */
async function scanFolder(path: string, flavor?: string): Promise<ResolvedArtifact> {
  for (const name of (await readdir(path)).sort()) {
    const file = join(path, name);
    if (name === PREPROCESS_FILE || (await stat(file)).isDirectory()) continue;
    const detected = await detectFile(file);
    if (detected && detected !== 'js' && (!flavor || flavor === detected)) return { flavor: detected, path: file };
  }
  if ((!flavor || flavor === 'js') && findJsEntry(path)) return { flavor: 'js', path };
  if (flavor && flavors.has(flavor) && !['onnx', 'xgboost', 'js'].includes(flavor)) return { flavor, path };
  throw invalidArgument(`no model found in ${path}: expected an MLmodel file, a .onnx file, an XGBoost .json/.ubj model or a JS module`);
}

/** MLflow flavor sections name their file: onnx and xgboost `data`, ours `module`. */
function fromMLmodelFlavors(dir: string, sections: Record<string, Record<string, unknown>>, wanted?: string): ResolvedArtifact {
  const order = wanted ? [wanted] : ['onnx', 'xgboost', 'js', ...Object.keys(sections)];
  for (const name of order) {
    const section = sections[name];
    if (!section || !flavors.has(name)) continue;
    if (name === 'js') return { flavor: 'js', path: dir, module: typeof section.module === 'string' ? section.module : undefined };
    return { flavor: name, path: typeof section.data === 'string' ? join(dir, section.data) : dir };
  }
  const has = Object.keys(sections).join(', ');
  if (wanted) throw invalidArgument(`MLmodel in ${dir} has no "${wanted}" flavor (it has ${has})`);
  throw failedPrecondition(`MLmodel in ${dir} has flavors ${has}; modelport runs ${flavorNames().join(', ')}`);
}

/**
 * Loads a model artifact (a file, or a folder with or without an MLmodel file) with the given
 * or detected flavor; a folder's preprocess.json puts its preprocessing step in front.
 */
export async function loadModel(path: string, options: LoadOptions = {}): Promise<Predictor> {
  if (options.flavor && !flavors.has(options.flavor)) {
    throw invalidArgument(`unknown flavor "${options.flavor}" (known: ${flavorNames().join(', ')})`);
  }
  const artifact = await resolveArtifact(path, options.flavor);
  const preprocess = (await stat(path)).isDirectory() ? await readPreprocess(path) : undefined;
  const predictor = artifact.flavor === 'js' ? await loadJs(artifact.path, options, artifact.module) : await flavors.get(artifact.flavor)!.load(artifact.path, options);
  const marks = artifact.pii;
  if (preprocess) {
    try {
      // The marks name raw columns, which only the preprocessing step's signature has.
      return new PreprocessedPredictor(predictor, preprocess, undefined, marks);
    } catch (err) {
      await predictor.close();
      throw err;
    }
  }
  return marks && marks.size > 0 ? withPiiMarks(predictor, marks) : predictor;
}

/**
 * The predictor with the MLmodel's PII markings on its signature's inputs, so serving hashes or
 * drops them before any prediction tap, whatever the flavor (an ONNX graph carries no such marks).
 */
function withPiiMarks(predictor: Predictor, marks: ReadonlyMap<string, 'hash' | 'drop'>): Predictor {
  return {
    flavor: predictor.flavor,
    signature: { ...predictor.signature, inputs: markPii(predictor.signature.inputs, marks) },
    metadata: predictor.metadata,
    concurrentCalls: predictor.concurrentCalls,
    predict: (batch) => predictor.predict(batch),
    close: () => predictor.close(),
  };
}
