/**
 * Where a one-row request's server CPU goes, from V8 CPU profiles (`node --cpu-prof`) of a
 * server under load. Each sample is charged to the phase of the nearest frame on its stack
 * that names one: decode (reading the V2 body into a batch), predict (batcher, model runtime,
 * model threads), encode (the answer's bytes), logging (the prediction log); the rest is HTTP
 * and the request's plumbing (sockets, headers, routing, metrics, Node's own HTTP code, GC).
 * A profile's timestamps are the monotonic clock that `process.hrtime` reads, so one profiled
 * server can take several deployments in turn and each window is read apart.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const PHASES = ['decode', 'predict', 'encode', 'logging', 'HTTP and the rest'] as const;
export type Phase = (typeof PHASES)[number];

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The phase a frame names, if it names one. */
function phaseOf({ functionName: fn, url }: CallFrame): Phase | undefined {
  if (url.includes('/monitoring/')) return 'logging';
  // byteSize counts the answer's bytes, which flattens the text the writer built piecewise: encoding's work.
  if (url.endsWith('/v2-http.js')) return fn === 'readV2Body' ? 'decode' : fn === 'v2Reply' || fn === 'byteSize' ? 'encode' : undefined;
  if (url.endsWith('/codecs/v2-wire.js')) return fn.startsWith('write') || fn === 'jsonData' ? 'encode' : 'decode';
  if (url.endsWith('/codecs/v2.js') || url.endsWith('/server/v2-read.js')) return 'decode';
  if (url.endsWith('/server/v2.js')) return fn === 'decode' ? 'decode' : fn === 'encode' ? 'encode' : undefined;
  if (url.endsWith('/serving/batcher.js') || url.endsWith('/serving/runtime.js') || url.endsWith('/serving/worker-predictor.js') || url.includes('onnxruntime')) return 'predict';
  if (url.includes('/dist/models/')) return 'predict';
  return undefined;
}

/** Samples of `profile` between `from` and `to` (µs on the monotonic clock), µs per phase; idle time left out. */
function charge(profile: Profile, from: number, to: number, into: Map<Phase, number>, whole?: Phase): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const phase = new Map<number, Phase>();
  const resolve = (id: number): Phase => {
    const known = phase.get(id);
    if (known) return known;
    const own = phaseOf(byId.get(id)!.callFrame);
    const up = parent.get(id);
    const p = own ?? (up === undefined ? 'HTTP and the rest' : resolve(up));
    phase.set(id, p);
    return p;
  };
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (t < from || t > to) continue;
    const node = byId.get(profile.samples[i])!;
    if (node.callFrame.functionName === '(idle)') continue;
    const p = whole ?? resolve(node.id);
    into.set(p, (into.get(p) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
}

/**
 * The share of each phase in the busy time of every thread profiled in `dir` during each
 * window ([from, to] in µs of the monotonic clock). The event loop's thread is the profile
 * holding the V2 handler; a model thread's busy time is all predict.
 */
export function phaseShares(dir: string, windows: readonly { from: number; to: number }[]): Map<Phase, number>[] {
  const profiles = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile);
  return windows.map(({ from, to }) => {
    const micros = new Map<Phase, number>();
    for (const p of profiles) {
      const urls = p.nodes.map((n) => n.callFrame.url);
      if (urls.some((u) => u.endsWith('/server/fast-infer.js'))) charge(p, from, to, micros);
      else if (urls.some((u) => u.endsWith('/serving/model-worker.js'))) charge(p, from, to, micros, 'predict');
      else if (urls.some((u) => u.includes('/monitoring/'))) charge(p, from, to, micros, 'logging');
    }
    const total = [...micros.values()].reduce((a, b) => a + b, 0);
    return new Map(PHASES.map((ph) => [ph, total > 0 ? (micros.get(ph) ?? 0) / total : 0]));
  });
}
