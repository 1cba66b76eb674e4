/**
 * Start-up: time from launching `modelport server` (the built package, as a user runs it) to
 * the moment /ready answers 200, on the embedded default stores. The limits beside it, in the
 * same run: a bare `node` process that prints and exits, and a bare Fastify app listening.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeResults, median, machine, table } from '../report.js';

const RUNS = 10;

function timeToLine(args: string[], pattern: RegExp, cwd?: string): Promise<{ ms: number; kill: () => Promise<void>; line: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let seen = '';
    child.stdout.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = seen.match(pattern);
      if (m) {
        const ms = performance.now() - t0;
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve({
          ms,
          line: m[0],
          kill: () => new Promise((r) => { child.once('exit', () => r()); child.kill('SIGTERM'); }),
        });
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code} before ready: ${seen}`)));
  });
}

async function modelportToReady(data: string): Promise<number> {
  const t0 = performance.now();
  const run = await timeToLine(['bin/modelport.js', 'server', '--port', '0', '--data', data, '--log-level', 'warn'], /modelport listening on (\S+)/);
  const url = run.line.split(' ').at(-1)!;
  // Listening is printed after the stores opened and migrated; /ready proves they answer.
  while ((await fetch(`${url}/ready`)).status !== 200);
  const ms = performance.now() - t0;
  await run.kill();
  return ms;
}

const bareFastify = join(mkdtempSync(join(tmpdir(), 'startup-')), 'fastify.mjs');
writeFileSync(
  bareFastify,
  `import Fastify from '${join(process.cwd(), 'node_modules/fastify/fastify.js')}';
const app = Fastify(); app.get('/ready', async () => 'ok');
await app.listen({ port: 0, host: '127.0.0.1' }); console.log('listening ' + app.server.address().port);`,
);

const cold: number[] = [];
const warm: number[] = [];
const node: number[] = [];
const fastify: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const data = mkdtempSync(join(tmpdir(), 'startup-data-'));
  cold.push(await modelportToReady(data));
  warm.push(await modelportToReady(data));
  rmSync(data, { recursive: true, force: true });
  node.push((await timeToLine(['-e', 'console.log("up")'], /up/)).ms);
  const f = await timeToLine([bareFastify], /listening \d+/);
  fastify.push(f.ms);
  await f.kill();
}

const target = 1000;
const rows = [
  ['modelport server, new data folder (migrations run)', median(cold), target],
  ['modelport server, existing data folder', median(warm), target],
  ['limit: bare Fastify app listening', median(fastify), NaN],
  ['limit: bare `node -e` process', median(node), NaN],
].map(([what, ms, t]) => [
  String(what),
  (ms as number).toFixed(0),
  Number.isNaN(t) ? '' : `${((ms as number) / (t as number)).toFixed(2)} of the 1 s target`,
  `${((ms as number) / median(fastify)).toFixed(2)}× bare Fastify`,
]);
const md = `## Start-up (bench/startup)

${machine()}. Median of ${RUNS} runs: launch to \`/ready\` answering 200.

${table(['what', 'ms (median)', 'vs target', 'vs limit'], rows)}
`;
console.log(md);
writeResults('startup', md);
