/**
 * Runs the real `modelport` command as a child process: from the JavaScript that scripts/test.mjs
 * transpiles src/ to (MODELPORT_TEST_CLI), else from TypeScript source through tsx.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('../../src/cli/run.ts', import.meta.url));
const BUILT = process.env.MODELPORT_TEST_CLI;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, BUILT ? [BUILT, ...args] : ['--import', 'tsx', ENTRY, ...args], {
    cwd: ROOT,
    env: { ...process.env, MODELPORT_SERVER: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 240_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`modelport ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Waits until the child prints a line matching `pattern` and returns the match. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 180_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    // The child's stderr goes into the failure too: a start-up error is printed there.
    let errors = '';
    const onError = (d: Buffer) => (errors += d.toString());
    child.stderr?.on('data', onError);
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; saw:\n${seen}\nstderr:\n${errors}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = seen.match(pattern);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stderr?.off('data', onError);
        resolve(m);
      }
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing ${pattern}; saw:\n${seen}\nstderr:\n${errors}`));
    });
  });
}

/**
 * Whether process `pid` runs. One that ended but was not reaped yet is a zombie, which kill(pid, 0)
 * still finds: an orphan's new parent (PID 1, which on some machines reaps late) reaps it.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
