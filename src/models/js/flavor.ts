/**
 * The `js` flavor, the escape hatch for custom models written in JavaScript or TypeScript: a
 * folder (or file) with an ES module exporting `predict(batch)` and, optionally,
 * `load(context)`, `signature` and `close()`.
 *
 * `load` may return an object with its own `predict` / `signature` / `close`, which then take
 * precedence; that is how a module keeps per-load state (a module is evaluated once per process).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { failedPrecondition, invalidArgument, isModelportError } from '../../core/errors.js';
import { Batch, type Column } from '../batch.js';
import type { Flavor, LoadOptions, Predictor } from '../predictor.js';
import { checkSignature, conform, type Signature } from '../signature.js';

export interface JsModelContext {
  /** The model folder (or the module's folder when a file was given). */
  path: string;
  options: LoadOptions;
}

export interface JsModel {
  predict(batch: Batch): Batch | Record<string, Column> | Promise<Batch | Record<string, Column>>;
  signature?: Signature;
  close?(): void | Promise<void>;
}

export interface JsModelModule extends Partial<JsModel> {
  load?(context: JsModelContext): void | Partial<JsModel> | Promise<void | Partial<JsModel>>;
}

const ENTRY_NAMES = ['model.js', 'model.mjs', 'index.js', 'index.mjs', 'model.ts', 'index.ts'];

/** The module file of a js model folder: package.json "main", else model.js, index.js, ... */
export function findJsEntry(dir: string, module?: string): string | undefined {
  if (module) return join(dir, module);
  const pkg = join(dir, 'package.json');
  if (existsSync(pkg)) {
    try {
      const main = (JSON.parse(readFileSync(pkg, 'utf8')) as { main?: string }).main;
      if (main && existsSync(join(dir, main))) return join(dir, main);
    } catch {
      // an unreadable package.json just means we look for the usual names
    }
  }
  return ENTRY_NAMES.map((n) => join(dir, n)).find((f) => existsSync(f));
}

class JsPredictor implements Predictor {
  readonly flavor = 'js';
  readonly metadata: Record<string, unknown>;

  constructor(
    private readonly model: JsModel,
    readonly signature: Signature,
    private readonly options: LoadOptions,
    entry: string,
  ) {
    this.metadata = { module: basename(entry) };
  }

  async predict(batch: Batch): Promise<Batch> {
    const input = this.signature.inputs.length > 0 ? conform(batch, this.signature.inputs, this.options) : batch;
    let out: Batch | Record<string, Column>;
    try {
      out = await this.model.predict(input);
    } catch (err) {
      if (isModelportError(err)) throw err;
      throw failedPrecondition(`js model ${this.metadata.module}: predict failed: ${(err as Error).message}`);
    }
    const result = toResultBatch(out);
    if (result.rows !== input.rows) {
      throw failedPrecondition(`js model ${this.metadata.module}: returned ${result.rows} rows for ${input.rows} input rows`);
    }
    return result;
  }

  async close(): Promise<void> {
    await this.model.close?.();
  }
}

/**
 * A module may import its own copy of modelport (so `instanceof Batch` fails) or return plain
 * columns; both become our Batch.
 */
function toResultBatch(out: unknown): Batch {
  if (out instanceof Batch) return out;
  const like = out as { columns?: unknown; rows?: unknown };
  if (like && like.columns instanceof Map && typeof like.rows === 'number') return Batch.from(like.columns as Map<string, Column>, like.rows);
  if (out && typeof out === 'object') return Batch.from(out as Record<string, Column>);
  throw failedPrecondition(`js model returned ${out === null ? 'null' : typeof out}, expected a Batch or named columns`);
}

export async function loadJs(path: string, options: LoadOptions, module?: string): Promise<Predictor> {
  const abs = resolve(path);
  const isDir = statSync(abs).isDirectory();
  const entry = isDir ? findJsEntry(abs, module) : abs;
  if (!entry || !existsSync(entry)) throw invalidArgument(`js model ${path}: no module found (looked for ${ENTRY_NAMES.join(', ')})`);
  // Messages reach API callers (a deployment's status): they name the module, never where the server keeps it.
  const folder = isDir ? abs : resolve(abs, '..');
  const hide = (text: string) => text.split(pathToFileURL(folder).href).join('.').split(folder).join('.');
  const name = basename(entry);
  let mod: JsModelModule;
  try {
    mod = (await import(pathToFileURL(entry).href)) as JsModelModule;
  } catch (err) {
    throw invalidArgument(`js model ${name} could not be imported: ${hide((err as Error).message)}`);
  }
  let loaded: void | Partial<JsModel>;
  try {
    loaded = await mod.load?.({ path: folder, options });
  } catch (err) {
    if (isModelportError(err)) throw err;
    throw failedPrecondition(`js model ${name}: load failed: ${hide((err as Error).message)}`);
  }
  loaded ??= {};
  const predict = loaded.predict ?? mod.predict;
  if (typeof predict !== 'function') throw invalidArgument(`js model ${name}: exports no predict(batch) function`);
  const model: JsModel = {
    predict: predict.bind(loaded.predict ? loaded : mod),
    close: (loaded.close ?? mod.close)?.bind(loaded.close ? loaded : mod),
  };
  const given = options.signature ?? loaded.signature ?? mod.signature;
  const signature = given === undefined ? { inputs: [], outputs: [] } : checkSignature(given, `js model ${basename(entry)}`);
  return new JsPredictor(model, signature, options, entry);
}

export const jsFlavor: Flavor = { name: 'js', load: (path, options) => loadJs(path, options) };
