/**
 * The yaml package, required on first use: imported, it cost every CLI command ~130 ms of CPU at
 * start (a `predict` of 1,000 rows included) whether or not it read any YAML. Required rather than
 * imported, too, as its build is CommonJS, whose export names an ES import parses the files for.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

let loaded: typeof import('yaml') | undefined;

export function yaml(): typeof import('yaml') {
  return (loaded ??= require('yaml') as typeof import('yaml'));
}
