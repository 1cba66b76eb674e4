/** Shared by the benchmarks that load a server over loopback: child processes, autocannon runs, CPU time. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';

export const ROOT = join(import.meta.dirname, '..');

export interface LoadResult {
  requests: { average: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** POSTs `body` as JSON to `url` from `connections` connections for `seconds`. */
export function load(url: string, body: string, options: { connections: number; seconds: number }): Promise<LoadResult> {
  return autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections: options.connections,
    duration: options.seconds,
  }) as Promise<LoadResult>;
}

/** Starts a process and resolves once its output matches `pattern`. */
export function started(cmd: string, args: string[], pattern: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = seen.match(pattern);
      if (m) {
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve({ child, match: m });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${seen}`)));
  });
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Linux counts process CPU time in ticks of 1/100 s. */
const TICK_MICROS = 1e6 / 100;

/** User + system CPU time, in µs, of one `/proc/.../stat` file (a process or one of its threads). */
export function statCpuMicros(statPath: string): number {
  const fields = readFileSync(statPath, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MICROS;
}

/** CPU time (µs) of a process and, recursively, of the children its threads forked (cluster workers); 0 once it is gone. */
export function processCpuMicros(pid: number): number {
  try {
    let micros = statCpuMicros(`/proc/${pid}/stat`);
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) micros += processCpuMicros(Number(child));
    }
    return micros;
  } catch {
    return 0;
  }
}
