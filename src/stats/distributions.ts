/**
 * The distribution functions the tests and A/B analysis need, from @stdlib, loaded on first use:
 * together they take about 45 ms to load, which every command and server start paid though
 * most never compute a p-value.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type Gammainc = (x: number, a: number, regularized: boolean, upper: boolean) => number;
type NormalCdf = (x: number, mu: number, sigma: number) => number;
type TCdf = (x: number, v: number) => number;

let loaded: { gammainc: Gammainc; normalCdf: NormalCdf; tCdf: TCdf } | undefined;

function functions() {
  loaded ??= {
    gammainc: require('@stdlib/math-base-special-gammainc') as Gammainc,
    normalCdf: require('@stdlib/stats-base-dists-normal-cdf') as NormalCdf,
    tCdf: require('@stdlib/stats-base-dists-t-cdf') as TCdf,
  };
  return loaded;
}

/** The regularized incomplete gamma function (upper when `upper`). */
export const gammainc: Gammainc = (x, a, regularized, upper) => functions().gammainc(x, a, regularized, upper);
export const normalCdf: NormalCdf = (x, mu, sigma) => functions().normalCdf(x, mu, sigma);
export const tCdf: TCdf = (x, v) => functions().tCdf(x, v);
