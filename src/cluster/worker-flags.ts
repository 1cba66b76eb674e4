/**
 * The Node options a server's cluster workers start with. A worker serving one-row predictions
 * allocates about 15 KB per request, and the requests in flight (those waiting for a batch)
 * survive each young-generation collection: with V8's default 16 MB semi-space a worker
 * collected every ~900 requests, a few milliseconds each, and the collector took about a tenth
 * of its CPU. A 64 MB semi-space collects a quarter as often, for the same work per collection,
 * at the cost of at most 96 MB more memory per worker (the space grows only while requests keep
 * surviving it; 10-50 MB measured under load in bench/serving). A size the operator chose (in
 * the primary's flags or NODE_OPTIONS) is kept.
 */
const SEMI_SPACE = '--max-semi-space-size=64';

export function workerExecArgv(execArgv: readonly string[] = process.execArgv, nodeOptions: string = process.env.NODE_OPTIONS ?? ''): string[] {
  const chosen = [...execArgv, ...nodeOptions.split(/\s+/)].some((flag) => /^--max[-_]semi[-_]space[-_]size\b/.test(flag));
  return chosen ? [...execArgv] : [...execArgv, SEMI_SPACE];
}
