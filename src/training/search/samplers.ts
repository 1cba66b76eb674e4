/**
 * Samplers: random, TPE as Optuna 3.1 defines it (independent per parameter: 10 random start-up
 * trials, then the best γ(n) = min(⌈0.1·n⌉, 25) trials against the rest, Parzen estimators with
 * a prior, Optuna's neighbour-distance bandwidths with the magic clip, older trials weighed down
 * beyond the newest 25, and the best l(x)/g(x) of 24 candidates drawn from l), and grid.
 * Running trials count as the worst ones (Optuna's constant liar), so parallel trials spread out.
 * With `multivariate`, the parameters every finished trial has are drawn jointly, as Optuna's
 * `multivariate=True` does: one kernel per observation over all of them (Scott-like bandwidth
 * 0.2·n^(−1/(d+4))·range per dimension), so correlated parameters are learnt together; the rest
 * (conditional ones) stay independent.
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
  /** Draw the parameters every finished trial has jointly (Optuna's multivariate=True). */
  multivariate?: boolean;
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

/** A draw from N(mu, sigma) truncated to [low, high] by rejection (the mean if it keeps missing). */
function truncatedNormalSample(mu: number, sigma: number, low: number, high: number, rand: () => number): number {
  for (let tries = 0; tries < 100; tries++) {
    const x = mu + sigma * normalSample(rand);
    if (x >= low && x <= high) return x;
  }
  return Math.min(high, Math.max(low, mu));
}

/** The density at x of N(mu, sigma) truncated to [low, high]. */
function truncatedNormalPdf(x: number, mu: number, sigma: number, low: number, high: number): number {
  const mass = normalCdf((high - mu) / sigma) - normalCdf((low - mu) / sigma);
  const z = (x - mu) / sigma;
  return Math.exp(-0.5 * z * z - LOG_SQRT_2PI) / (sigma * Math.max(mass, 1e-12));
}

/** The index of a draw from a discrete distribution. */
function pick(probabilities: number[], rand: () => number): number {
  let u = rand();
  let k = 0;
  while (k < probabilities.length - 1 && u >= probabilities[k]) u -= probabilities[k++];
  return k;
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
    const k = pick(this.weights, rand);
    return truncatedNormalSample(this.mus[k], this.sigmas[k], this.low, this.high, rand);
  }

  logPdf(x: number): number {
    let p = 0;
    for (let i = 0; i < this.mus.length; i++) p += this.weights[i] * truncatedNormalPdf(x, this.mus[i], this.sigmas[i], this.low, this.high);
    return Math.log(Math.max(p, 1e-300));
  }
}

/** One dimension of a joint estimator: a numeric range (internal scale) or a number of choices. */
type Dimension = { kind: 'numeric'; low: number; high: number } | { kind: 'categorical'; choices: number };

/**
 * Optuna 3.1's multivariate Parzen estimator: kernel i is the product over dimensions of a
 * truncated Gaussian around observation i (one bandwidth per dimension) or, for a categorical
 * dimension, a distribution with extra mass on the observed choice; a prior kernel (the range's
 * middle with the range as bandwidth, uniform choices) comes last.
 */
class JointParzen {
  private readonly weights: number[];
  /** Per dimension: kernel centres and bandwidths (numeric) or choice probabilities (categorical). */
  private readonly mus: number[][] = [];
  private readonly sigmas: number[][] = [];
  private readonly choiceProbabilities: number[][][] = [];

  constructor(observations: number[][], private readonly dims: Dimension[], priorWeight: number) {
    const n = observations.length;
    const w = [...defaultWeights(n), priorWeight];
    const total = w.reduce((a, b) => a + b, 0);
    this.weights = w.map((x) => x / total);
    dims.forEach((dim, d) => {
      if (dim.kind === 'numeric') {
        const range = dim.high - dim.low;
        const sigma = 0.2 * Math.max(n, 1) ** (-1 / (dims.length + 4)) * range;
        const minSigma = range / Math.min(100, 1 + n + 1);
        this.mus[d] = [...observations.map((o) => o[d]), 0.5 * (dim.low + dim.high)];
        this.sigmas[d] = [...new Array<number>(n).fill(Math.min(range, Math.max(minSigma, sigma))), range];
        this.choiceProbabilities[d] = [];
      } else {
        const rows = observations.map((o) => {
          const p = new Array<number>(dim.choices).fill(priorWeight / dim.choices);
          p[o[d]] += 1;
          const sum = 1 + priorWeight;
          return p.map((x) => x / sum);
        });
        this.choiceProbabilities[d] = [...rows, new Array<number>(dim.choices).fill(1 / dim.choices)];
        this.mus[d] = [];
        this.sigmas[d] = [];
      }
    });
  }

  sample(rand: () => number): number[] {
    const k = pick(this.weights, rand);
    return this.dims.map((dim, d) => (dim.kind === 'numeric' ? truncatedNormalSample(this.mus[d][k], this.sigmas[d][k], dim.low, dim.high, rand) : pick(this.choiceProbabilities[d][k], rand)));
  }

  logPdf(x: number[]): number {
    const terms = this.weights.map((w, k) => {
      let log = Math.log(w);
      this.dims.forEach((dim, d) => {
        const p = dim.kind === 'numeric' ? truncatedNormalPdf(x[d], this.mus[d][k], this.sigmas[d][k], dim.low, dim.high) : this.choiceProbabilities[d][k][x[d]];
        log += Math.log(Math.max(p, 1e-300));
      });
      return log;
    });
    const max = Math.max(...terms);
    return max + Math.log(terms.reduce((a, t) => a + Math.exp(t - max), 0));
  }
}

function categoricalWeights(observations: number[], choices: number, priorWeight: number): number[] {
  const w = defaultWeights(observations.length);
  const p = new Array(choices).fill(priorWeight / choices);
  observations.forEach((c, i) => (p[c] += w[i]));
  const total = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / total);
}

/** A categorical parameter's value as the index of its choice. */
function choiceIndex(spec: Distribution & { type: 'categorical' }, value: ParamValue): number {
  return Math.max(0, spec.choices.findIndex((c) => String(c) === String(value)));
}

/** One parameter by TPE on its own: the best l(x)/g(x) of the candidates drawn from l. */
function sampleIndependent(spec: Distribution, name: string, lower: readonly TrialRecord[], upper: readonly TrialRecord[], nCandidates: number, priorWeight: number, rand: () => number): ParamValue {
  if (spec.type === 'categorical') {
    const l = categoricalWeights(lower.map((t) => choiceIndex(spec, t.params[name])), spec.choices.length, priorWeight);
    const g = categoricalWeights(upper.map((t) => choiceIndex(spec, t.params[name])), spec.choices.length, priorWeight);
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < nCandidates; c++) {
      const k = pick(l, rand);
      const score = Math.log(l[k]) - Math.log(g[k]);
      if (score > bestScore) {
        bestScore = score;
        best = k;
      }
    }
    return spec.choices[best];
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
  return scale.fromInternal(best);
}

/** The named parameters drawn together: the best l(x)/g(x) of the candidates drawn from the joint l. */
function sampleJoint(space: SearchSpace, names: string[], lower: readonly TrialRecord[], upper: readonly TrialRecord[], nCandidates: number, priorWeight: number, rand: () => number): Record<string, ParamValue> {
  const dims: Dimension[] = [];
  const encode: ((v: ParamValue) => number)[] = [];
  const decode: ((x: number) => ParamValue)[] = [];
  for (const name of names) {
    const spec = space[name];
    if (spec.type === 'categorical') {
      dims.push({ kind: 'categorical', choices: spec.choices.length });
      encode.push((v) => choiceIndex(spec, v));
      decode.push((x) => spec.choices[x]);
    } else {
      const scale = numericScale(spec);
      dims.push({ kind: 'numeric', low: scale.low, high: scale.high });
      encode.push((v) => scale.toInternal(Number(v)));
      decode.push((x) => scale.fromInternal(x));
    }
  }
  const points = (trials: readonly TrialRecord[]) => trials.map((t) => names.map((name, d) => encode[d](t.params[name])));
  const l = new JointParzen(points(lower), dims, priorWeight);
  const g = new JointParzen(points(upper), dims, priorWeight);
  let best = l.sample(rand);
  let bestScore = -Infinity;
  for (let c = 0; c < nCandidates; c++) {
    // Scored where the values land once rounded to the parameters' types.
    const x = l.sample(rand).map((v, d) => encode[d](decode[d](v)));
    const score = l.logPdf(x) - g.logPdf(x);
    if (score > bestScore) {
      bestScore = score;
      best = x;
    }
  }
  return Object.fromEntries(names.map((name, d) => [name, decode[d](best[d])]));
}

export function tpeSampler(options: TpeOptions = {}): Sampler {
  const nStartup = options.nStartupTrials ?? 10;
  const nCandidates = options.nEiCandidates ?? 24;
  const priorWeight = options.priorWeight ?? 1;
  return {
    name: options.multivariate ? 'tpe-multivariate' : 'tpe',
    sample(space, trials, direction, rand) {
      const complete = trials.filter((t) => t.state === 'COMPLETE' && t.value !== undefined && Number.isFinite(t.value));
      if (complete.length < nStartup) return randomSampler.sample(space, trials, direction, rand);
      const sign = direction === 'minimize' ? 1 : -1;
      const ranked = [...complete].sort((a, b) => sign * (a.value! - b.value!) || a.number - b.number);
      const nBelow = defaultGamma(complete.length);
      const below = new Set(ranked.slice(0, nBelow).map((t) => t.number));
      // Pruned and running trials join the worse group: pruned ones were worse, running ones are "lied" worst.
      const considered = trials.filter((t) => t.state !== 'FAIL').sort((a, b) => a.number - b.number);
      const split = (names: string[]) => {
        const withParams = considered.filter((t) => names.every((name) => name in t.params));
        return { lower: withParams.filter((t) => below.has(t.number)), upper: withParams.filter((t) => !below.has(t.number)) };
      };
      let joint: Record<string, ParamValue> = {};
      if (options.multivariate) {
        // Optuna's intersection search space: the parameters every finished (complete or pruned) trial has.
        const finished = considered.filter((t) => t.state !== 'RUNNING');
        const names = orderedNames(space).filter((name) => finished.every((t) => name in t.params));
        if (names.length > 0) {
          const { lower, upper } = split(names);
          joint = sampleJoint(space, names, lower, upper, nCandidates, priorWeight, rand);
        }
      }
      const chosen: Record<string, ParamValue> = {};
      for (const name of orderedNames(space)) {
        const spec = space[name];
        if (!isActive(spec, chosen)) continue;
        if (name in joint) {
          chosen[name] = joint[name];
          continue;
        }
        const { lower, upper } = split([name]);
        chosen[name] = sampleIndependent(spec, name, lower, upper, nCandidates, priorWeight, rand);
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

export function makeSampler(name: string, space: SearchSpace, options: { multivariate?: boolean } = {}): Sampler {
  if (options.multivariate && name !== 'tpe') throw invalidArgument(`multivariate sampling is a TPE option; sampler "${name}" does not take it`);
  if (name === 'tpe') return tpeSampler({ multivariate: options.multivariate });
  if (name === 'random') return randomSampler;
  if (name === 'grid') return gridSampler(space);
  throw invalidArgument(`sampler "${name}" is not one of ${SAMPLERS.join(', ')}`);
}
