/**
 * A CommonJS package required on its first use rather than imported at start: imported, its
 * files load with every command and server start whether or not they are used, and an ES import
 * of CommonJS parses each file for its export names first.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The package `id`, loaded by the first call and kept. */
export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(id) as T);
}
