/**
 * Comparing two profiles: TFDV's drift comparators (L-infinity distance of categorical value
 * shares, Jensen–Shannon divergence of numeric histograms) and a column-by-column diff.
 */
import { jensenShannon } from '../stats/divergence.js';
import type { Anomaly, Bucket, ColumnDiff, ColumnProfile, DatasetSchema, Profile, ValueCount } from './types.js';

/** max |p_a(v) − p_b(v)| over the values of both, with shares of each side's non-missing rows. */
export function lInfinity(a: ValueCount[], b: ValueCount[]): { distance: number; value: string } | undefined {
  const totalA = a.reduce((s, v) => s + v.count, 0);
  const totalB = b.reduce((s, v) => s + v.count, 0);
  if (totalA === 0 || totalB === 0) return undefined;
  const shares = new Map<string, number>();
  for (const v of a) shares.set(v.value, v.count / totalA);
  for (const v of b) shares.set(v.value, (shares.get(v.value) ?? 0) - v.count / totalB);
  let best = { distance: -1, value: '' };
  for (const [value, d] of shares) {
    const abs = Math.abs(d);
    if (abs > best.distance || (abs === best.distance && value < best.value)) best = { distance: abs, value };
  }
  return best;
}

/**
 * Spreads each bucket's count over the intervals between `bounds`, assuming values uniform
 * within a bucket (TFDV aligns histograms the same way before comparing them).
 */
export function rebucket(histogram: Bucket[], bounds: number[]): Float64Array {
  const out = new Float64Array(Math.max(bounds.length - 1, 1));
  for (const { low, high, count } of histogram) {
    if (count === 0) continue;
    if (!(high > low) || bounds.length < 2) {
      let k = bounds.findIndex((b, i) => i < bounds.length - 1 && low >= b && low < bounds[i + 1]);
      if (k < 0) k = out.length - 1;
      out[k] += count;
      continue;
    }
    for (let k = 0; k < bounds.length - 1; k++) {
      const overlap = Math.min(high, bounds[k + 1]) - Math.max(low, bounds[k]);
      if (overlap > 0) out[k] += (count * overlap) / (high - low);
    }
  }
  return out;
}

/** Jensen–Shannon divergence (base 2, so within [0, 1]) of two histograms on aligned buckets. */
export function histogramJensenShannon(a: Bucket[], b: Bucket[]): number | undefined {
  const mass = (h: Bucket[]) => h.reduce((s, x) => s + x.count, 0);
  if (mass(a) === 0 || mass(b) === 0) return undefined;
  const bounds = [...new Set([...a, ...b].flatMap((x) => [x.low, x.high]))].sort((x, y) => x - y);
  const d = jensenShannon(rebucket(a, bounds), rebucket(b, bounds), 2);
  return Math.min(d * d, 1);
}

const pct = (x: number) => `${(x * 100).toFixed(x < 0.001 && x > 0 ? 3 : 1)}%`;
const fmt = (x: number) => (Math.abs(x) >= 1e-3 || x === 0 ? Number(x.toPrecision(4)).toString() : x.toExponential(3));

/** Drift anomalies of `current` against `previous`, for the columns whose schema sets a threshold. */
export function driftAnomalies(schema: DatasetSchema, previous: Profile, current: Profile, previousVersion: number): Anomaly[] {
  const out: Anomaly[] = [];
  const before = new Map(previous.columns.map((c) => [c.name, c]));
  const after = new Map(current.columns.map((c) => [c.name, c]));
  for (const col of schema.columns) {
    const a = before.get(col.name);
    const b = after.get(col.name);
    if (!a || !b || !col.drift) continue;
    const linf = col.drift.infinityNorm;
    if (linf !== undefined && a.categories && b.categories) {
      const d = lInfinity(a.categories, b.categories);
      if (d && d.distance > linf) {
        const share = (c: ColumnProfile, v: string) => (c.categories!.find((x) => x.value === v)?.count ?? 0) / Math.max(c.count, 1);
        out.push({
          kind: 'drift_l_infinity',
          column: col.name,
          expected: `L-infinity distance to version ${previousVersion} at most ${linf}`,
          seen: `${fmt(d.distance)} (value "${d.value}": ${pct(share(a, d.value))} → ${pct(share(b, d.value))})`,
          message: `column "${col.name}": value shares drifted from version ${previousVersion}: L-infinity ${fmt(d.distance)} > ${linf}, largest change in "${d.value}"`,
          value: d.distance,
        });
      }
    }
    const js = col.drift.jensenShannon;
    if (js !== undefined && a.histogram && b.histogram) {
      const d = histogramJensenShannon(a.histogram, b.histogram);
      if (d !== undefined && d > js) {
        out.push({
          kind: 'drift_jensen_shannon',
          column: col.name,
          expected: `Jensen–Shannon divergence to version ${previousVersion} at most ${js}`,
          seen: `${fmt(d)} (mean ${fmt(a.mean ?? NaN)} → ${fmt(b.mean ?? NaN)})`,
          message: `column "${col.name}": distribution drifted from version ${previousVersion}: Jensen–Shannon ${fmt(d)} > ${js}`,
          value: d,
        });
      }
    }
  }
  return out;
}

/** Column-by-column differences between two profiles. */
export function diffProfiles(a: Profile, b: Profile): ColumnDiff[] {
  const left = new Map(a.columns.map((c) => [c.name, c]));
  const right = new Map(b.columns.map((c) => [c.name, c]));
  const names = [...a.columns.map((c) => c.name), ...b.columns.map((c) => c.name).filter((n) => !left.has(n))];
  return names.map((name): ColumnDiff => {
    const x = left.get(name);
    const y = right.get(name);
    if (!x) return { name, change: 'added', typeB: y!.type, missingShareB: y!.missingShare, distinctB: y!.distinct, meanB: y!.mean };
    if (!y) return { name, change: 'removed', typeA: x.type, missingShareA: x.missingShare, distinctA: x.distinct, meanA: x.mean };
    const d: ColumnDiff = {
      name,
      change: 'same',
      typeA: x.type,
      typeB: y.type,
      missingShareA: x.missingShare,
      missingShareB: y.missingShare,
      distinctA: x.distinct,
      distinctB: y.distinct,
    };
    if (x.mean !== undefined) d.meanA = x.mean;
    if (y.mean !== undefined) d.meanB = y.mean;
    if (x.categories && y.categories) {
      const l = lInfinity(x.categories, y.categories);
      if (l) {
        d.lInfinity = l.distance;
        d.lInfinityValue = l.value;
      }
    }
    if (x.histogram && y.histogram) {
      const js = histogramJensenShannon(x.histogram, y.histogram);
      if (js !== undefined) d.jensenShannon = js;
    }
    const same =
      x.type === y.type &&
      x.missing === y.missing &&
      x.count === y.count &&
      x.distinct === y.distinct &&
      x.mean === y.mean &&
      (d.lInfinity ?? 0) === 0 &&
      (d.jensenShannon ?? 0) === 0;
    d.change = same ? 'same' : 'changed';
    return d;
  });
}
