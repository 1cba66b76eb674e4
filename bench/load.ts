/**
 * Shared by the benchmarks that load a server over loopback: child processes, wrk runs, CPU time.
 *
 * Load comes from wrk (Debian package wrk), a C load generator: on 2 cores the load generator
 * shares the CPU with the server, and wrk needs about half the CPU per request of a Node one
 * (autocannon, measured here at 25 µs per request), so more of the machine measures the server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { median } from './report.js';

export const ROOT = join(import.meta.dirname, '..');

export interface LoadResult {
  requests: { average: number; total: number };
  /** Milliseconds (wrk measures microseconds). */
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU time wrk itself used per request, µs. */
  loadCpuMicros: number;
}

/**
 * wrk's script: POST the body in $BODY as JSON (or the bytes of the file $BODY_FILE, with the
 * "name: value" lines of $HEADERS); print a JSON summary as the last line.
 */
const SCRIPT = `wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = os.getenv("BODY")
if os.getenv("BODY_FILE") ~= nil and os.getenv("BODY_FILE") ~= "" then local f = io.open(os.getenv("BODY_FILE"), "rb"); wrk.body = f:read("*a"); f:close() end
for name, value in string.gmatch(os.getenv("HEADERS") or "", "([^:\\n]+): ([^\\n]*)") do wrk.headers[name] = value end
if os.getenv("AUTHORIZATION") ~= nil and os.getenv("AUTHORIZATION") ~= "" then wrk.headers["authorization"] = os.getenv("AUTHORIZATION") end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration":%d,"p50":%d,"p99":%d,"mean":%f,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean, e.status, e.connect, e.read, e.write, e.timeout))
end
`;
let scriptPath: string | undefined;

let bodies = 0;

/**
 * POSTs `body` to `url` from `connections` connections for `seconds`, with one wrk thread: a
 * string as JSON, bytes (a binary V2 body, say) as they are, with `headers`.
 */
export function load(url: string, body: string | Buffer, options: { connections: number; seconds: number; authorization?: string; headers?: Record<string, string> }): Promise<LoadResult> {
  if (!scriptPath) {
    scriptPath = join(mkdtempSync(join(os.tmpdir(), 'modelport-wrk-')), 'post.lua');
    writeFileSync(scriptPath, SCRIPT);
  }
  // Bytes cannot travel in an environment variable (NUL), nor can large bodies (one variable
  // holds at most 128 KiB on Linux): those go through a file.
  let bodyFile = '';
  if (typeof body !== 'string' || body.length > 64 * 1024) {
    bodyFile = join(dirname(scriptPath), `body-${bodies++}.bin`);
    writeFileSync(bodyFile, body);
  }
  const headers = Object.entries(options.headers ?? {}).map(([k, v]) => `${k}: ${v}`).join('\n');
  const args = ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--timeout', '10s', '-s', scriptPath, url];
  return new Promise((resolve, reject) => {
    const env = { ...process.env, BODY: bodyFile ? '' : (body as string), BODY_FILE: bodyFile, HEADERS: headers, AUTHORIZATION: options.authorization ?? '' };
    const child = spawn('wrk', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let cpu = 0;
    // wrk's own CPU, read while it runs (its /proc entry is gone once it has exited).
    const sampler = setInterval(() => (cpu = processCpuMicros(child.pid!) || cpu), 100);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => {
      clearInterval(sampler);
      reject(new Error(`wrk could not start (apt-get install wrk): ${e.message}`));
    });
    child.on('exit', (code) => {
      clearInterval(sampler);
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) return reject(new Error(`wrk ${args.join(' ')} exited ${code}: ${err || out}`));
      const r = JSON.parse(last) as { requests: number; duration: number; p50: number; p99: number; mean: number; status: number; connect: number; read: number; write: number; timeout: number };
      resolve({
        requests: { average: r.requests / (r.duration / 1e6), total: r.requests },
        latency: { p50: r.p50 / 1000, p99: r.p99 / 1000, average: r.mean / 1000 },
        non2xx: r.status,
        errors: r.connect + r.read + r.write,
        timeouts: r.timeout,
        loadCpuMicros: cpu / Math.max(1, r.requests),
      });
    });
  });
}

/** A server under load: where to send what, and the process whose CPU counts. */
export interface LoadTarget {
  what: string;
  url: string;
  body: string | Buffer;
  /** Request headers besides content-type: application/json. */
  headers?: Record<string, string>;
  pid: number;
  connections: number;
  /** An Authorization header every request carries. */
  authorization?: string;
}

/** The runs of one target over the rounds. */
export interface Runs<T extends LoadTarget = LoadTarget> {
  config: T;
  runs: LoadResult[];
  /** Server CPU per request of each run, µs. */
  cpu: number[];
}

/** One load run of `seconds` against `target`, with the server's CPU per answered request (µs). */
async function run(target: LoadTarget, seconds: number): Promise<{ result: LoadResult; cpu: number }> {
  const before = processCpuMicros(target.pid);
  const result = await load(target.url, target.body, { connections: target.connections, seconds, authorization: target.authorization, headers: target.headers });
  return { result, cpu: (processCpuMicros(target.pid) - before) / Math.max(1, result.requests.total) };
}

/**
 * `rounds` rounds of one run per target, the order turning each round. This machine's speed
 * drifts by tens of percent within minutes; targets that take short turns meet the drift alike.
 */
export async function rounds<T extends LoadTarget>(targets: T[], options: { rounds: number; seconds: number; label: string; before?: (target: T) => Promise<void> }): Promise<Runs<T>[]> {
  const all = targets.map((config): Runs<T> => ({ config, runs: [], cpu: [] }));
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < all.length; k++) {
      const r = all[(round + k) % all.length];
      await options.before?.(r.config);
      const { result, cpu } = await run(r.config, options.seconds);
      r.runs.push(result);
      r.cpu.push(cpu);
    }
    console.log(`${options.label}: round ${round + 1} of ${options.rounds}: ${all.map((r) => Math.round(rate(r.runs.at(-1)!))).join(' ')} req/s`);
  }
  return all;
}

export const rate = (r: LoadResult): number => r.requests.average;
export const medianRate = (r: Runs): number => median(r.runs.map(rate));
/** Each round's rate of `a` over that of `b` in the same round, the median over the rounds. */
export const paired = (a: Runs, b: Runs): number => median(a.runs.map((x, i) => rate(x) / rate(b.runs[i])));
/** Non-2xx answers, socket errors and timeouts over all the runs. */
export const failures = (r: Runs): number => r.runs.reduce((a, x) => a + x.non2xx + x.errors + x.timeouts, 0);

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
