/**
 * The special functions the tests take from @stdlib, required on first use: its packages are
 * hundreds of small CommonJS files, and imported they cost every CLI command ~140 ms of CPU at
 * start (a `predict` of 1,000 rows included) whether or not it tested anything.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

let gammaincFn: typeof import('@stdlib/math-base-special-gammainc') | undefined;
let normalCdfFn: typeof import('@stdlib/stats-base-dists-normal-cdf') | undefined;
let tCdfFn: typeof import('@stdlib/stats-base-dists-t-cdf') | undefined;

/** The regularised incomplete gamma function (the upper one when `upper`). */
export function gammainc(x: number, a: number, regularized: boolean, upper: boolean): number {
  gammaincFn ??= require('@stdlib/math-base-special-gammainc') as typeof import('@stdlib/math-base-special-gammainc');
  return gammaincFn(x, a, regularized, upper);
}

export function normalCdf(x: number, mu: number, sigma: number): number {
  normalCdfFn ??= require('@stdlib/stats-base-dists-normal-cdf') as typeof import('@stdlib/stats-base-dists-normal-cdf');
  return normalCdfFn(x, mu, sigma);
}

export function tCdf(x: number, v: number): number {
  tCdfFn ??= require('@stdlib/stats-base-dists-t-cdf') as typeof import('@stdlib/stats-base-dists-t-cdf');
  return tCdfFn(x, v);
}
