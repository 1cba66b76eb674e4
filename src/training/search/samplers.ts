/**
 * Samplers: random, TPE as Optuna 3.1 defines it (independent per parameter: 10 random start-up
 * trials, then the best γ(n) = min(⌈0.1·n⌉, 25) trials against the rest, Parzen estimators with
 * a prior, Optuna's neighbour-distance bandwidths with the magic clip, older trials weighed down
 * beyond the newest 25, and the best l(x)/g(x) of 24 candidates drawn from l), and grid.
 * Running trials count as the worst ones (Optuna's constant liar), so parallel trials spread out.
 */
import { invalidArgument } from '../../core/errors.js';
import { fromUnit, isActive, orderedNames, type Distribution, type ParamValue, type SearchSpace } from './space.js';

export type TrialState = 'RUNNING' | 'COMPLETE' | 'PRUNED' | 'FAIL';

export interface TrialRecord {
  number: number;
  state: TrialState;
  params: Record<string, ParamValue>;
  value?: number;
  /** Intermediate values by step (boosting round). */
  intermediate: Map<number, number>;
}

export type Direction = 'minimize' | 'maximize';

export interface Sampler {
  readonly name: string;
  /** Parameters of the next trial, or undefined when the sampler has nothing left (a finished grid). */
  sample(space: SearchSpace, trials: readonly TrialRecord[], direction: Direction, rand: () => number): Record<string, ParamValue> | undefined;
}

export const randomSampler: Sampler = {
  name: 'random',
  sample(space, _trials, _direction, rand) {
    const chosen: Record<string, ParamValue> = {};
    for (const name of orderedNames(space)) if (isActive(space[name], chosen)) chosen[name] = fromUnit(space[name], rand());
    return chosen;
  },
};

export interface TpeOptions {
  nStartupTrials?: number;
  nEiCandidates?: number;
  priorWeight?: number;
}

const SQRT2 = Math.SQRT2;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** Φ(x) through erfc. */
function normalCdf(x: number): number {
  return 0.5 * erfc(-x / SQRT2);
}

function erfc(x: number): number {
  // Numerical Recipes' erfcc: fractional error below 1.2e-7 everywhere.
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

function normalSample(rand: () => number): number {
  const u = Math.max(rand(), 1e-300);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Optuna's default_weights: equal below 25 observations, else a ramp for the oldest and 1 for the newest 25. */
export function defaultWeights(n: number): number[] {
  if (n < 25) return new Array(n).fill(1);
  const ramp = Array.from({ length: n - 25 }, (_, i) => (n - 25 === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (n - 26)));
  return [...ramp, ...new Array(25).fill(1)];
}

export const defaultGamma = (n: number) => Math.min(Math.ceil(0.1 * n), 25);

interface Numeric {
  low: number;
  high: number;
  toInternal(v: number): number;
  fromInternal(x: number): number;
}

function numericScale(spec: Distribution & { type: 'float' | 'int' }): Numeric {
  const half = spec.type === 'int' ? (spec.step ?? 1) / 2 : 0;
  const lo = spec.low - half;
  const hi = spec.high + half;
  const log = spec.log === true;
  const round = (v: number) => {
    if (spec.type !== 'int') return Math.min(spec.high, Math.max(spec.low, v));
    const step = spec.step ?? 1;
    return Math.min(spec.high, Math.max(spec.low, spec.low + Math.round((v - spec.low) / step) * step));
  };
  return {
    low: log ? Math.log(lo) : lo,
    high: log ? Math.log(hi) : hi,
    toInternal: (v) => (log ? Math.log(v) : v),
    fromInternal: (x) => round(log ? Math.exp(x) : x),
  };
}

/** A truncated Gaussian mixture over [low, high]: observations plus the prior. */
class Parzen {
  readonly mus: number[];
  readonly sigmas: number[];
  readonly weights: number[];

  constructor(observations: number[], private readonly low: number, private readonly high: number, priorWeight: number) {
    const n = observations.length;
    const w = defaultWeights(n);
    const mus = [...observations, 0.5 * (low + high)];
    const rawWeights = [...w, priorWeight];
    const order = mus.map((_, i) => i).sort((a, b) => mus[a] - mus[b]);
    const sorted = order.map((i) => mus[i]);
    const withEnds = [low, ...sorted, high];
    const sortedSigmas = sorted.map((_, i) => Math.max(withEnds[i + 1] - withEnds[i], withEnds[i + 2] - withEnds[i + 1]));
    if (sorted.length >= 2) {
      // Optuna's consider_endpoints=False: the outermost kernels look only at their inner neighbour.
      sortedSigmas[0] = withEnds[2] - withEnds[1];
      sortedSigmas[sorted.length - 1] = withEnds[withEnds.length - 2] - withEnds[withEnds.length - 3];
    }
    const sigmas = new Array<number>(mus.length);
    order.forEach((idx, j) => (sigmas[idx] = sortedSigmas[j]));
    const maxSigma = high - low;
    const minSigma = (high - low) / Math.min(100, 1 + mus.length);
    for (let i = 0; i < sigmas.length; i++) sigmas[i] = Math.min(maxSigma, Math.max(minSigma, sigmas[i]));
    sigmas[n] = maxSigma;
    const total = rawWeights.reduce((a, b) => a + b, 0);
    this.mus = mus;
    this.sigmas = sigmas;
    this.weights = rawWeights.map((x) => x / total);
  }

  sample(rand: () => number): number {
    let u = rand();
    let k = 0;
    while (k < this.weights.length - 1 && u >= this.weights[k]) u -= this.weights[k++];
    for (let tries = 0; tries < 100; tries++) {
      const x = this.mus[k] + this.sigmas[k] * normalSample(rand);
      if (x >= this.low && x <= this.high) return x;
    }
    return Math.min(this.high, Math.max(this.low, this.mus[k]));
  }

  logPdf(x: number): number {
    let p = 0;
    for (let i = 0; i < this.mus.length; i++) {
      const s = this.sigmas[i];
      const mass = normalCdf((this.high - this.mus[i]) / s) - normalCdf((this.low - this.mus[i]) / s);
      const z = (x - this.mus[i]) / s;
      p += (this.weights[i] * Math.exp(-0.5 * z * z - LOG_SQRT_2PI)) / (s * Math.max(mass, 1e-12));
    }
    return Math.log(Math.max(p, 1e-300));
  }
}

function categoricalWeights(observations: number[], choices: number, priorWeight: number): number[] {
  const w = defaultWeights(observations.length);
  const p = new Array(choices).fill(priorWeight / choices);
  observations.forEach((c, i) => (p[c] += w[i]));
  const total = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / total);
}

export function tpeSampler(options: TpeOptions = {}): Sampler {
  const nStartup = options.nStartupTrials ?? 10;
  const nCandidates = options.nEiCandidates ?? 24;
  const priorWeight = options.priorWeight ?? 1;
  return {
    name: 'tpe',
    sample(space, trials, direction, rand) {
      const complete = trials.filter((t) => t.state === 'COMPLETE' && t.value !== undefined && Number.isFinite(t.value));
      if (complete.length < nStartup) return randomSampler.sample(space, trials, direction, rand);
      const sign = direction === 'minimize' ? 1 : -1;
      const ranked = [...complete].sort((a, b) => sign * (a.value! - b.value!) || a.number - b.number);
      const nBelow = defaultGamma(complete.length);
      const below = new Set(ranked.slice(0, nBelow).map((t) => t.number));
      // Pruned and running trials join the worse group: pruned ones were worse, running ones are "lied" worst.
      const considered = trials.filter((t) => t.state !== 'FAIL').sort((a, b) => a.number - b.number);
      const chosen: Record<string, ParamValue> = {};
      for (const name of orderedNames(space)) {
        const spec = space[name];
        if (!isActive(spec, chosen)) continue;
        const withParam = considered.filter((t) => name in t.params);
        const lower = withParam.filter((t) => below.has(t.number));
        const upper = withParam.filter((t) => !below.has(t.number));
        if (spec.type === 'categorical') {
          const index = (t: TrialRecord) => Math.max(0, spec.choices.findIndex((c) => String(c) === String(t.params[name])));
          const l = categoricalWeights(lower.map(index), spec.choices.length, priorWeight);
          const g = categoricalWeights(upper.map(index), spec.choices.length, priorWeight);
          let best = 0;
          let bestScore = -Infinity;
          for (let c = 0; c < nCandidates; c++) {
            let u = rand();
            let k = 0;
            while (k < l.length - 1 && u >= l[k]) u -= l[k++];
            const score = Math.log(l[k]) - Math.log(g[k]);
            if (score > bestScore) {
              bestScore = score;
              best = k;
            }
          }
          chosen[name] = spec.choices[best];
          continue;
        }
        const scale = numericScale(spec);
        const l = new Parzen(lower.map((t) => scale.toInternal(Number(t.params[name]))), scale.low, scale.high, priorWeight);
        const g = new Parzen(upper.map((t) => scale.toInternal(Number(t.params[name]))), scale.low, scale.high, priorWeight);
        let best = l.sample(rand);
        let bestScore = -Infinity;
        for (let c = 0; c < nCandidates; c++) {
          const x = scale.toInternal(scale.fromInternal(l.sample(rand)));
          const score = l.logPdf(x) - g.logPdf(x);
          if (score > bestScore) {
            bestScore = score;
            best = x;
          }
        }
        chosen[name] = scale.fromInternal(best);
      }
      return chosen;
    },
  };
}

/** The values a grid takes for a parameter: categorical choices or every value of an int range. */
function gridValues(name: string, spec: Distribution): ParamValue[] {
  if (spec.type === 'categorical') return spec.choices;
  if (spec.type === 'int' && !spec.log) {
    const step = spec.step ?? 1;
    const count = Math.floor((spec.high - spec.low) / step) + 1;
    if (count > 1000) throw invalidArgument(`grid sampler: parameter "${name}" has ${count} values; give it as choices`);
    return Array.from({ length: count }, (_, i) => spec.low + i * step);
  }
  throw invalidArgument(`grid sampler: parameter "${name}" is a continuous range; give it as {"choices": [...]}`);
}

export function gridSampler(space: SearchSpace): Sampler & { size: number } {
  const names = Object.keys(space);
  for (const n of names) if (space[n].when) throw invalidArgument(`grid sampler: parameter "${n}" is conditional; a grid needs every parameter always present`);
  const values = names.map((n) => gridValues(n, space[n]));
  const size = values.reduce((a, v) => a * v.length, 1);
  const key = (p: Record<string, ParamValue>) => names.map((n) => String(p[n])).join('\u0000');
  return {
    name: 'grid',
    size,
    sample(_space, trials) {
      const taken = new Set(trials.filter((t) => t.state !== 'FAIL').map((t) => key(t.params)));
      for (let i = 0; i < size; i++) {
        const point: Record<string, ParamValue> = {};
        let rest = i;
        for (let j = names.length - 1; j >= 0; j--) {
          point[names[j]] = values[j][rest % values[j].length];
          rest = Math.floor(rest / values[j].length);
        }
        if (!taken.has(key(point))) return point;
      }
      return undefined;
    },
  };
}

export const SAMPLERS = ['tpe', 'random', 'grid'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export function makeSampler(name: string, space: SearchSpace): Sampler {
  if (name === 'tpe') return tpeSampler();
  if (name === 'random') return randomSampler;
  if (name === 'grid') return gridSampler(space);
  throw invalidArgument(`sampler "${name}" is not one of ${SAMPLERS.join(', ')}`);
}
