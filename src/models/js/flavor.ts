/**
 * The `js` flavor, the escape hatch for custom models written in JavaScript: a folder (or file)
 * with an ES module exporting `predict(batch)` and, optionally, `load(context)`, `signature` and
 * `close()`. Each load runs the module in a process of its own (see `loadJs`); the batch it
 * receives has `rows`, `columns`, `names`, `has(name)` and `column(name)`.
 *
 * `load` may return an object with its own `predict` / `signature` / `close`, which then take
 * precedence.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { failedPrecondition, invalidArgument } from '../../core/errors.js';
import { Batch, type Column } from '../batch.js';
import type { Flavor, LoadOptions, Predictor } from '../predictor.js';
import { checkSignature, conform, type Signature } from '../signature.js';
import { CHILD_SOURCE } from './sandbox-child.js';

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

/**
 * The author's module, running in its own process (see sandbox-child.ts): one request at a time
 * per id, a whole batch per message. The child keeps the event loop alive only while a call is
 * outstanding, so a command that loaded a model and forgot to close it still exits.
 */
class Sandbox {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (m: Reply) => void; reject: (e: Error) => void }>();
  private exited: string | undefined;

  constructor(private readonly child: ChildProcess, private readonly name: string) {
    child.on('message', (m: Reply) => {
      const call = this.pending.get(m.id);
      if (!call) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.idle();
      call.resolve(m);
    });
    child.on('exit', (code, signal) => {
      this.exited ??= `js model ${name}: its process exited (${signal ?? `code ${code}`})`;
      for (const call of this.pending.values()) call.reject(failedPrecondition(this.exited));
      this.pending.clear();
    });
  }

  static start(folder: string, name: string): Promise<Sandbox> {
    const child = spawn(
      process.execPath,
      ['--experimental-permission', `--allow-fs-read=${folder}`, '--no-warnings', '--input-type=module', '-e', CHILD_SOURCE],
      // No environment: the server's variables (keys, tokens, database URLs) stay with the server.
      { cwd: folder, env: {}, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'advanced' },
    );
    const sandbox = new Sandbox(child, name);
    return new Promise((resolve, reject) => {
      child.once('message', () => {
        sandbox.idle();
        resolve(sandbox);
      });
      child.once('exit', () => reject(failedPrecondition(sandbox.exited ?? `js model ${name}: its process did not start`)));
      child.once('error', (err) => reject(failedPrecondition(`js model ${name}: its process did not start: ${err.message}`)));
    });
  }

  call(message: Record<string, unknown>): Promise<Reply> {
    if (this.exited) return Promise.reject(failedPrecondition(this.exited));
    const id = this.next++;
    if (this.pending.size === 0) this.busy();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ ...message, id });
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    this.exited = `js model ${this.name}: closed`;
    this.busy();
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    // A close() that hangs must not hold the server's shutdown.
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    this.child.send({ op: 'close' });
    await gone;
    clearTimeout(kill);
  }

  private busy(): void {
    this.child.ref();
    this.child.channel?.ref();
  }

  private idle(): void {
    this.child.unref();
    this.child.channel?.unref();
  }
}

interface Reply {
  id: number;
  ok: boolean;
  message?: string;
  stage?: 'import' | 'load' | 'exports';
  signature?: unknown;
  rows?: number;
  columns?: [string, Column][];
}

class JsPredictor implements Predictor {
  readonly flavor = 'js';
  readonly metadata: Record<string, unknown>;

  constructor(
    private readonly sandbox: Sandbox,
    readonly signature: Signature,
    private readonly options: LoadOptions,
    private readonly hide: (text: string) => string,
    entry: string,
  ) {
    this.metadata = { module: basename(entry) };
  }

  async predict(batch: Batch): Promise<Batch> {
    const input = this.signature.inputs.length > 0 ? conform(batch, this.signature.inputs, this.options) : batch;
    const reply = await this.sandbox.call({ op: 'predict', rows: input.rows, columns: [...input.columns] });
    if (!reply.ok) throw failedPrecondition(`js model ${this.metadata.module}: predict failed: ${this.hide(reply.message ?? '')}`);
    let result: Batch;
    try {
      result = Batch.from(reply.columns!, reply.rows);
    } catch (err) {
      throw failedPrecondition(`js model ${this.metadata.module}: returned unusable columns: ${(err as Error).message}`);
    }
    if (result.rows !== input.rows) {
      throw failedPrecondition(`js model ${this.metadata.module}: returned ${result.rows} rows for ${input.rows} input rows`);
    }
    return result;
  }

  close(): Promise<void> {
    return this.sandbox.close();
  }
}

/**
 * Runs the module in a child process under Node's permission model: it reads its own folder
 * only, writes nothing, starts no process or thread and opens no socket (see sandbox-child.ts for
 * what covers what).
 */
export async function loadJs(path: string, options: LoadOptions, module?: string): Promise<Predictor> {
  const abs = resolve(path);
  const isDir = statSync(abs).isDirectory();
  const entry = isDir ? findJsEntry(abs, module) : abs;
  if (!entry || !existsSync(entry)) throw invalidArgument(`js model ${path}: no module found (looked for ${ENTRY_NAMES.join(', ')})`);
  const given = isDir ? abs : dirname(abs);
  // The permission model compares real paths; a folder reached through a link is allowed by its target.
  const folder = realpathSync(given);
  // Messages reach API callers (a deployment's status): they name the module, never where the server keeps it.
  const hide = (text: string) =>
    [folder, given].reduce((t, f) => t.split(pathToFileURL(f).href).join('.').split(f).join('.'), text);
  const name = basename(entry);
  const sandbox = await Sandbox.start(folder, name);
  const reply = await sandbox.call({
    op: 'load',
    entry: join(folder, relative(given, entry)),
    folder,
    options: JSON.parse(JSON.stringify({ ...options, signature: undefined })) as unknown,
  });
  if (!reply.ok) {
    await sandbox.close();
    const message = hide(reply.message ?? '');
    if (reply.stage === 'import') throw invalidArgument(`js model ${name} could not be imported: ${message}`);
    if (reply.stage === 'exports') throw invalidArgument(`js model ${name}: ${message}`);
    throw failedPrecondition(`js model ${name}: load failed: ${message}`);
  }
  try {
    const declared = options.signature ?? reply.signature;
    const signature = declared === undefined ? { inputs: [], outputs: [] } : checkSignature(declared, `js model ${name}`);
    return new JsPredictor(sandbox, signature, options, hide, entry);
  } catch (err) {
    await sandbox.close();
    throw err;
  }
}
export const jsFlavor: Flavor = { name: 'js', load: (path, options) => loadJs(path, options) };
