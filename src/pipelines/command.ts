/**
 * Runs a command step: `sh -c COMMAND` as the leader of its own process group, so that
 * cancelling or timing out kills everything it started (a shell's children included), with its
 * stdout and stderr written to files as they come.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { watchGroupMemory, type MemoryWatch } from './memory-watch.js';

export interface CommandOptions {
  command: string;
  cwd: string;
  env: Record<string, string>;
  stdoutPath: string;
  stderrPath: string;
  signal: AbortSignal;
  /** Called once the process group exists, with its id (the driver records it to kill it after a crash). */
  onStart?(pgid: number): void;
  /** Resident memory the whole group may use, in bytes (0 or absent: no limit). */
  memoryLimit?: number;
}

/** Grace between SIGTERM and SIGKILL for a cancelled or timed-out step. */
const KILL_GRACE_MS = 2000;

/** Kills a whole process group; a group that is already gone is not an error. */
export function killGroup(pgid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left to kill.
  }
}

/**
 * Resolves with the exit code (or the signal's name when the process was killed), and the
 * group's resident bytes when it was killed for going over its memory limit.
 */
export async function runCommand(options: CommandOptions): Promise<{ code: number | null; signal: string | null; memoryExceeded?: number }> {
  const out = createWriteStream(options.stdoutPath);
  const err = createWriteStream(options.stderrPath);
  const child = spawn('/bin/sh', ['-c', options.command], {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(out);
  child.stderr.pipe(err);
  let graceTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (child.pid === undefined) return;
    killGroup(child.pid, 'SIGTERM');
    graceTimer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), KILL_GRACE_MS);
  };
  if (child.pid !== undefined) options.onStart?.(child.pid);
  let memory: MemoryWatch | undefined;
  if (child.pid !== undefined && options.memoryLimit) memory = watchGroupMemory(child.pid, options.memoryLimit, () => killGroup(child.pid!));
  if (options.signal.aborted) stop();
  else options.signal.addEventListener('abort', stop, { once: true });
  try {
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    // The leader may exit while a child it backgrounded lives on; the group goes with it.
    if (child.pid !== undefined) killGroup(child.pid);
    return { code, signal, memoryExceeded: memory?.exceeded };
  } catch (e) {
    // spawn itself failed (no /bin/sh, a missing cwd): report it as the step's error.
    err.write(`${(e as Error).message}\n`);
    return { code: 127, signal: null };
  } finally {
    clearTimeout(graceTimer);
    memory?.stop();
    options.signal.removeEventListener('abort', stop);
    await Promise.all([closeStream(out), closeStream(err)]);
  }
}

async function closeStream(stream: WriteStream): Promise<void> {
  if (stream.closed) return;
  stream.end();
  await once(stream, 'close');
}
