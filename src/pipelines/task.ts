/**
 * One attempt of one step, wherever it runs (the driver's process or a worker): rebuild the
 * inputs from the artifact store, run the command, function or built-in with its own output
 * folder, then store the outputs and the captured stdout/stderr back in the artifact store.
 * A task and its result are plain JSON so that they can travel through a queue.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BlobStore } from '../storage/blobs.js';
import { isModelportError } from '../core/errors.js';
import { envName, substituteParams, type ParamValue, type Step } from './definition.js';
import type { BuiltinStep, StepFunction, StepServices } from './context.js';
import { runCommand } from './command.js';
import { mebibytes } from './memory-watch.js';
import { materializeOutputs, putSmall, storeOutputs } from './outputs.js';
import { returnScratch, takeScratch } from './scratch.js';

export interface StepTask {
  runId: string;
  pipeline: string;
  step: Step;
  params: Record<string, ParamValue>;
  /** Upstream step name → the sha256 of its outputs manifest. */
  inputs: Record<string, string>;
  dir?: string;
  attempt: number;
  trackingRunId?: string;
}

export interface StepResult {
  ok: boolean;
  error?: string;
  outputsSha?: string;
  files: number;
  /** Numbers from the step's `metrics.json`, logged to its tracking run. */
  metrics: Record<string, number>;
  stdoutSha?: string;
  stderrSha?: string;
  /** Where it ran (host:pid), for the run's record. */
  ranOn: string;
}

export interface TaskDeps {
  blobs: BlobStore;
  services: StepServices;
  builtins: ReadonlyMap<string, BuiltinStep>;
  /** Function steps of runs started in this process. */
  functionFor(runId: string, step: string): StepFunction | undefined;
  /** Scratch space and the cache of materialised outputs. */
  workDir: string;
  hostname: string;
}

/** Runs one attempt; never throws for the step's own failure (that is `ok: false`). */
export async function executeTask(task: StepTask, deps: TaskDeps, signal: AbortSignal, onStart?: (pgid: number) => void): Promise<StepResult> {
  const { step } = task;
  const scratch = await takeScratch(deps.workDir);
  const outputDir = join(scratch, 'out');
  const stdoutPath = join(scratch, 'stdout.log');
  const stderrPath = join(scratch, 'stderr.log');
  const timeout = step.timeoutMs !== undefined ? AbortSignal.timeout(step.timeoutMs) : undefined;
  const combined = timeout ? AbortSignal.any([signal, timeout]) : signal;
  const ranOn = `${deps.hostname}:${process.pid}`;
  let error: string | undefined;
  try {
    const inputs: Record<string, string> = {};
    for (const [name, sha] of Object.entries(task.inputs)) inputs[name] = await materializeOutputs(deps.blobs, sha, join(deps.workDir, 'outputs'));
    if (step.kind === 'command') {
      const env: Record<string, string> = { ...(process.env as Record<string, string>), ...step.env, MODELPORT_OUTPUT_DIR: outputDir, MODELPORT_RUN_ID: task.runId, MODELPORT_STEP: step.name, MODELPORT_ATTEMPT: String(task.attempt), MODELPORT_RAN_ON: ranOn };
      for (const p of step.params) env[`MODELPORT_PARAM_${envName(p)}`] = String(task.params[p]);
      for (const [name, dir] of Object.entries(inputs)) env[`MODELPORT_INPUT_${envName(name)}`] = dir;
      if (task.trackingRunId) env.MODELPORT_TRACKING_RUN_ID = task.trackingRunId;
      const memoryLimit = step.resources.memory;
      const { code, signal: killed, memoryExceeded } = await runCommand({ command: step.command!, cwd: task.dir ?? process.cwd(), env, stdoutPath, stderrPath, signal: combined, onStart, memoryLimit });
      if (memoryExceeded !== undefined) error = `went over its memory limit (resources.memory ${mebibytes(memoryLimit)}): its processes held ${mebibytes(memoryExceeded)} resident, so they were killed`;
      else if (code !== 0) error = killed ? `killed by ${killed}` : `exited with code ${code}`;
    } else {
      const log = (line: string) => appendFileSync(stdoutPath, `${line}\n`);
      const fn = step.kind === 'function' ? deps.functionFor(task.runId, step.name) : deps.builtins.get(step.uses!)?.run.bind(deps.builtins.get(step.uses!));
      if (!fn) throw new Error(step.kind === 'function' ? `the function of step ${step.name} is not loaded in this process (function steps run where their pipeline was defined)` : `built-in step "${step.uses}" is not known here`);
      const stepParams = Object.fromEntries(step.params.map((p) => [p, task.params[p]]));
      const run = Promise.resolve(fn({ runId: task.runId, pipeline: task.pipeline, step: step.name, trackingRunId: task.trackingRunId, params: stepParams, with: substituteParams(step.with, task.params) as Record<string, unknown>, inputs, outputDir, dir: task.dir, signal: combined, log, services: deps.services }));
      const stop = aborted(combined);
      // Once the step is done, a later abort must not surface as an unhandled rejection.
      stop.catch(() => undefined);
      await Promise.race([run, stop]);
    }
    if (!error) {
      const missing = step.outputs.filter((o) => !existsSync(join(outputDir, o)));
      if (missing.length > 0) error = `did not write its declared output${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
    }
  } catch (err) {
    error = isModelportError(err) || err instanceof Error ? (err as Error).message : String(err);
  }
  if (combined.aborted) error = timeout?.aborted && !signal.aborted ? `timed out after ${step.timeoutMs} ms` : 'cancelled';
  if (error) appendFileSync(stderrPath, `modelport: step ${step.name}: ${error}\n`);
  try {
    const stdoutSha = await storeLog(deps.blobs, stdoutPath);
    const stderrSha = await storeLog(deps.blobs, stderrPath);
    if (error) return { ok: false, error, files: 0, metrics: {}, stdoutSha, stderrSha, ranOn };
    const metrics = readMetrics(join(outputDir, 'metrics.json'));
    const stored = await storeOutputs(deps.blobs, outputDir);
    return { ok: true, outputsSha: stored.sha256, files: stored.manifest.files.length, metrics, stdoutSha, stderrSha, ranOn };
  } finally {
    // A step that was stopped may still be writing (a function step is not killed): never reuse its folder.
    await returnScratch(deps.workDir, scratch, !combined.aborted);
  }
}

/** A captured log's blob; none for an empty log, which reads back as empty all the same. */
async function storeLog(blobs: BlobStore, path: string): Promise<string | undefined> {
  const text = existsSync(path) ? readFileSync(path) : undefined;
  return text && text.length > 0 ? putSmall(blobs, text) : undefined;
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(new Error('cancelled'));
    signal.addEventListener('abort', () => reject(new Error('cancelled')), { once: true });
  });
}

/** Top-level numbers of `metrics.json`; anything else in it is left alone. */
function readMetrics(path: string): Record<string, number> {
  if (!existsSync(path)) return {};
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
  } catch {
    return {};
  }
}
