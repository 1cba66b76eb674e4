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
import { failedPrecondition, invalidArgument, unavailable } from '../../core/errors.js';
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
 * The author's module, running in its own process (see sandbox-child.ts): a whole batch per
 * message, calls answered by id (an async predict's calls overlap). The child keeps the event loop alive only while a call is
 * outstanding, so a command that loaded a model and forgot to close it still exits.
 */
class Sandbox {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (m: Reply) => void; reject: (e: Error) => void }>();
  private exited: string | undefined;
  /** Called once when the process ends without `close()`, with why. */
  onCrash: ((why: string) => void) | undefined;

  constructor(private readonly child: ChildProcess, private readonly name: string) {
    child.on('message', (m: Reply) => {
      const call = this.pending.get(m.id);
      if (!call) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.idle();
      call.resolve(m);
    });
    child.on('exit', (code, signal) => {
      const crashed = this.exited === undefined;
      this.exited ??= `js model ${name}: its process exited (${signal ?? `code ${code}`})`;
      for (const call of this.pending.values()) call.reject(failedPrecondition(this.exited));
      this.pending.clear();
      if (crashed) this.onCrash?.(this.exited);
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
  /** Whether predict is an async function (its calls overlap in the child). */
  overlaps?: boolean;
  rows?: number;
  columns?: [string, Column][];
}

/** Waits before respawning a crashed model's process: doubling from the first, up to the last. */
const RESPAWN_FIRST_MS = 500;
const RESPAWN_MAX_MS = 30_000;
/** A process that lived this long before it crashed starts the backoff over. */
const RESPAWN_STABLE_MS = 60_000;

/** How to start (and restart) one model's process: spawn it and send it `load`. */
interface Launch {
  folder: string;
  name: string;
  message: Record<string, unknown>;
}

/** A started process that loaded the module, or the load's refusal (the process is closed then). */
async function launch(how: Launch): Promise<{ sandbox: Sandbox; reply: Reply }> {
  const sandbox = await Sandbox.start(how.folder, how.name);
  const reply = await sandbox.call(how.message);
  if (!reply.ok) await sandbox.close();
  return { sandbox, reply };
}

class JsPredictor implements Predictor {
  readonly flavor = 'js';
  readonly metadata: Record<string, unknown>;
  /** An async predict waits rather than computes: its calls overlap in the child, so many may run at once. */
  readonly concurrentCalls: number | undefined;
  /** Why calls are refused while a crashed process is being replaced. */
  private down: string | undefined;
  private closed = false;
  private attempts = 0;
  private startedAt = performance.now();
  private respawnTimer: NodeJS.Timeout | undefined;

  constructor(
    private sandbox: Sandbox,
    readonly signature: Signature,
    private readonly options: LoadOptions,
    private readonly hide: (text: string) => string,
    entry: string,
    overlaps: boolean,
    private readonly how: Launch,
  ) {
    this.metadata = { module: basename(entry) };
    this.concurrentCalls = overlaps ? Number.POSITIVE_INFINITY : undefined;
    this.watch(sandbox);
  }

  private watch(sandbox: Sandbox): void {
    sandbox.onCrash = (why) => {
      if (this.closed) return;
      if (performance.now() - this.startedAt >= RESPAWN_STABLE_MS) this.attempts = 0;
      this.scheduleRespawn(why);
    };
  }

  /**
   * A crashed process is replaced after a backoff (a model that dies on load or on every call
   * does not spin); meanwhile calls get 503 naming why, so callers retry instead of failing hard.
   */
  private scheduleRespawn(why: string): void {
    const waitMs = Math.min(RESPAWN_MAX_MS, RESPAWN_FIRST_MS * 2 ** this.attempts++);
    this.down = `${this.hide(why)}; restarting it in ${waitMs / 1000} s`;
    // Mechanics, not semantics: a real timer, unref'd so a crashed model never holds the process open.
    this.respawnTimer = setTimeout(() => void this.respawn(why), waitMs);
    this.respawnTimer.unref();
  }

  private async respawn(why: string): Promise<void> {
    this.respawnTimer = undefined;
    if (this.closed) return;
    let started: { sandbox: Sandbox; reply: Reply };
    try {
      started = await launch(this.how);
    } catch (err) {
      return this.scheduleRespawn((err as Error).message);
    }
    if (!started.reply.ok) return this.scheduleRespawn(`js model ${this.metadata.module}: load failed again after ${why}: ${started.reply.message ?? ''}`);
    if (this.closed) return void (await started.sandbox.close());
    this.sandbox = started.sandbox;
    this.startedAt = performance.now();
    this.down = undefined;
    this.watch(started.sandbox);
  }

  async predict(batch: Batch): Promise<Batch> {
    if (this.down !== undefined) throw unavailable(this.down, { retryAfterSeconds: 1 });
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
    this.closed = true;
    clearTimeout(this.respawnTimer);
    return this.sandbox.close();
  }
}

/**
 * Runs the module in a child process under Node's permission model: it reads its own folder
 * only, writes nothing, starts no process or thread and opens no socket (see sandbox-child.ts for
 * what covers what). A process that dies is started again (see JsPredictor).
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
  const how: Launch = {
    folder,
    name,
    message: { op: 'load', entry: join(folder, relative(given, entry)), folder, options: JSON.parse(JSON.stringify({ ...options, signature: undefined })) as unknown },
  };
  const { sandbox, reply } = await launch(how);
  if (!reply.ok) {
    const message = hide(reply.message ?? '');
    if (reply.stage === 'import') throw invalidArgument(`js model ${name} could not be imported: ${message}`);
    if (reply.stage === 'exports') throw invalidArgument(`js model ${name}: ${message}`);
    throw failedPrecondition(`js model ${name}: load failed: ${message}`);
  }
  try {
    const declared = options.signature ?? reply.signature;
    const signature = declared === undefined ? { inputs: [], outputs: [] } : checkSignature(declared, `js model ${name}`);
    return new JsPredictor(sandbox, signature, options, hide, entry, reply.overlaps === true, how);
  } catch (err) {
    await sandbox.close();
    throw err;
  }
}
export const jsFlavor: Flavor = { name: 'js', load: (path, options) => loadJs(path, options) };
