/** Starting a worker thread from a module that may be TypeScript source (tests and benchmarks run under tsx). */
import { Worker } from 'node:worker_threads';

/**
 * Run from TypeScript sources, a worker does not inherit tsx's loader before its entry module is
 * resolved, so it registers tsx first, then imports the entry.
 */
export function spawnModuleWorker(url: URL): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url);
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(code, { eval: true });
}
