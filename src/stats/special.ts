/**
 * The special functions the tests take from @stdlib, on first use: its packages are hundreds of
 * small CommonJS files, and imported they cost every CLI command ~140 ms of CPU at start whether
 * or not it tested anything.
 */
import { lazyRequire } from '../core/lazy-require.js';

const gammaincFn = lazyRequire<typeof import('@stdlib/math-base-special-gammainc')>('@stdlib/math-base-special-gammainc');
const normalCdfFn = lazyRequire<typeof import('@stdlib/stats-base-dists-normal-cdf')>('@stdlib/stats-base-dists-normal-cdf');
const tCdfFn = lazyRequire<typeof import('@stdlib/stats-base-dists-t-cdf')>('@stdlib/stats-base-dists-t-cdf');

/** The regularised incomplete gamma function (the upper one when `upper`). */
export const gammainc = (x: number, a: number, regularized: boolean, upper: boolean): number => gammaincFn()(x, a, regularized, upper);
export const normalCdf = (x: number, mu: number, sigma: number): number => normalCdfFn()(x, mu, sigma);
export const tCdf = (x: number, v: number): number => tCdfFn()(x, v);
