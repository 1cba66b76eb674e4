/**
 * Registering a large model must stream: a 500 MB ONNX file registered with
 * `modelport --server URL models register` keeps both the server's and the CLI's memory growth
 * far below the artifact size. Each side runs in its own process; growth is the peak RSS
 * (VmHWM from /proc) of a 500 MB registration minus that of a 1 KB one. In the same run: a
 * client that reads the file into memory first (what a buffered upload costs), and `cp` of the
 * same file (the disk's copy speed, the floor for the time column).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machine, table, writeResults } from '../report.js';

const SIZE_MB = Number(process.env.BENCH_REGISTRY_MB ?? 500);
const LIMIT_MB = 100;
const root = mkdtempSync(join(tmpdir(), 'mpbench-registry-'));

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}
const field = (num: number, wire: number) => varint(num * 8 + wire);
const bytesField = (num: number, body: Buffer) => Buffer.concat([field(num, 2), varint(body.length), body]);

/** ValueInfoProto for a float tensor of unknown shape. */
function floatValueInfo(name: string): Buffer {
  const tensorType = bytesField(1, Buffer.concat([field(1, 0), varint(1)]));
  return Buffer.concat([bytesField(1, Buffer.from(name)), bytesField(2, tensorType)]);
}

/**
 * A valid ONNX model whose graph returns one float initializer of `bytes` bytes, written in
 * 8 MiB chunks: ModelProto{ir_version 8, opset 13, graph{initializer w (raw_data), output w}}.
 */
async function writeOnnx(path: string, bytes: number): Promise<void> {
  const floats = Math.floor(bytes / 4);
  const tensorHead = Buffer.concat([field(1, 0), varint(floats), field(2, 0), varint(1), bytesField(8, Buffer.from('w')), field(9, 2), varint(floats * 4)]);
  const tensorLen = tensorHead.length + floats * 4;
  const graphTail = Buffer.concat([bytesField(2, Buffer.from('g')), bytesField(12, floatValueInfo('w'))]);
  const graphLen = field(5, 2).length + varint(tensorLen).length + tensorLen + graphTail.length;
  const out = createWriteStream(path);
  const write = (b: Buffer) => new Promise<void>((resolve) => (out.write(b) ? resolve() : out.once('drain', resolve)));
  await write(Buffer.concat([field(1, 0), varint(8), bytesField(8, Buffer.concat([field(2, 0), varint(13)])), field(7, 2), varint(graphLen)]));
  await write(Buffer.concat([field(5, 2), varint(tensorLen), tensorHead]));
  const chunk = Buffer.alloc(8 << 20, 0x3f);
  for (let left = floats * 4; left > 0; left -= chunk.length) await write(left >= chunk.length ? chunk : chunk.subarray(0, left));
  await write(graphTail);
  await new Promise<void>((resolve) => out.end(resolve));
}

function hwmKiB(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a process to completion, sampling its peak RSS until it exits. */
function runMeasured(args: string[]): Promise<{ peakMiB: number; ms: number; stdout: string; code: number | null }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MODELPORT_SERVER: '' } });
    let peak = 0;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setInterval(() => (peak = Math.max(peak, hwmKiB(child.pid!) ?? 0)), 5);
    child.on('exit', (code) => {
      clearInterval(timer);
      if (code !== 0) process.stderr.write(stderr);
      resolve({ peakMiB: peak / 1024, ms: performance.now() - t0, stdout, code });
    });
  });
}

function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/run.ts', 'server', '--port', '0', '--data', dataDir, '--log-level', 'warn'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let seen = '';
    child.stdout!.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(seen);
      if (m) resolve({ child, url: m[1] });
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${seen}`)));
  });
}

const mib = (n: number) => `${n.toFixed(1)} MiB`;

async function main(): Promise<void> {
  const big = join(root, 'big.onnx');
  await writeOnnx(big, SIZE_MB * 1e6);
  // The baseline registration must take the same path as the big one: a JS model is stored and
  // checked but not loaded (small ONNX files are loaded by the runtimes at registration).
  const small = 'test/fixtures/models/js_model';
  const artifactMiB = SIZE_MB * 1e6 / 2 ** 20;
  const { child: server, url } = await startServer(join(root, 'data'));
  try {
    const cli = (name: string, file: string) => runMeasured(['--import', 'tsx', 'src/cli/run.ts', '--server', url, 'models', 'register', name, file]);
    const warm = await cli('small', small);
    if (warm.code !== 0) throw new Error('registering the small model failed');
    const serverBase = (hwmKiB(server.pid!) ?? 0) / 1024;
    const smallRun = await cli('small', small);
    const bigRun = await cli('big', big);
    if (bigRun.code !== 0) throw new Error('registering the big model failed');
    const serverPeak = (hwmKiB(server.pid!) ?? 0) / 1024;
    const embedded = (name: string, file: string) => runMeasured(['--import', 'tsx', 'src/cli/run.ts', '--data', join(root, 'embedded'), 'models', 'register', name, file]);
    await embedded('small', small);
    const embeddedSmall = await embedded('small', small);
    const embeddedBig = await embedded('big', big);
    if (embeddedBig.code !== 0) throw new Error('registering the big model embedded failed');
    const buffered = await runMeasured(['-e', `const b = require('node:fs').readFileSync(${JSON.stringify(big)}); console.log(b.length)`]);
    const bare = await runMeasured(['-e', '0']);
    const cpStart = performance.now();
    spawnSync('cp', [big, join(root, 'copy.onnx')]);
    const cpMs = performance.now() - cpStart;

    const serverGrowth = serverPeak - serverBase;
    const cliGrowth = bigRun.peakMiB - smallRun.peakMiB;
    const bufferedGrowth = buffered.peakMiB - bare.peakMiB;
    const embeddedGrowth = embeddedBig.peakMiB - embeddedSmall.peakMiB;
    const verdict = (g: number) => (g < LIMIT_MB ? `✓ < ${LIMIT_MB} MiB` : `✗ ≥ ${LIMIT_MB} MiB`);
    const rows = [
      ['modelport server (upload route → blob store)', mib(serverGrowth), (serverGrowth / artifactMiB).toFixed(3), verdict(serverGrowth)],
      ['modelport CLI (`models register`, streamed)', mib(cliGrowth), (cliGrowth / artifactMiB).toFixed(3), verdict(cliGrowth)],
      ['modelport CLI embedded (`--data DIR models register`)', mib(embeddedGrowth), (embeddedGrowth / artifactMiB).toFixed(3), verdict(embeddedGrowth)],
      ['buffered client (readFileSync of the file)', mib(bufferedGrowth), (bufferedGrowth / artifactMiB).toFixed(3), verdict(bufferedGrowth)],
    ];
    const memory = table(['process', 'peak RSS growth', 'growth / artifact size', `limit ${LIMIT_MB} MiB`], rows);
    const speed = table(
      ['operation', 'time', 'throughput', 'vs cp'],
      [
        [`\`models register\` ${SIZE_MB} MB (upload, sha256, validate, store)`, `${(bigRun.ms / 1000).toFixed(2)} s`, `${(SIZE_MB / (bigRun.ms / 1000)).toFixed(0)} MB/s`, (bigRun.ms / cpMs).toFixed(2)],
        [`embedded \`models register\` ${SIZE_MB} MB`, `${(embeddedBig.ms / 1000).toFixed(2)} s`, `${(SIZE_MB / (embeddedBig.ms / 1000)).toFixed(0)} MB/s`, (embeddedBig.ms / cpMs).toFixed(2)],
        ['`cp` of the same file (disk copy, the floor)', `${(cpMs / 1000).toFixed(2)} s`, `${(SIZE_MB / (cpMs / 1000)).toFixed(0)} MB/s`, '1.00'],
      ],
    );
    const text = `# Registry: registering a ${SIZE_MB} MB artifact\n\n${machine()}\n\nArtifact: a valid ONNX model of ${SIZE_MB} MB (${artifactMiB.toFixed(0)} MiB); growth is the peak RSS of the registration minus that of registering a 739-byte JS model in the same process role. CLI times include the CLI's start-up.\n\n${memory}\n\n${speed}\n`;
    process.stdout.write(`${text}\n`);
    writeResults('registry', text);
    if (Math.max(serverGrowth, cliGrowth, embeddedGrowth) >= LIMIT_MB) process.exitCode = 1;
  } finally {
    server.kill('SIGTERM');
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--write-onnx') await writeOnnx(process.argv[3], Number(process.argv[4]));
else await main();
