/**
 * Parallel coordinates: one vertical axis per parameter and one for the metric, one line per
 * run, coloured by the metric. Text parameters become evenly spaced categories.
 */
import { num } from '../format';

export interface Axis {
  label: string;
  /** One value per run; undefined where the run has none. */
  values: (number | string | undefined)[];
}

interface Scaled {
  label: string;
  pos: (number | undefined)[];
  ticks: { at: number; text: string }[];
}

function scale(axis: Axis): Scaled {
  const numeric = axis.values.every((v) => v === undefined || (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))));
  if (numeric) {
    const xs = axis.values.map((v) => (v === undefined ? undefined : Number(v)));
    const finite = xs.filter((v): v is number => v !== undefined);
    const lo = Math.min(...finite);
    const hi = Math.max(...finite);
    const span = hi - lo || 1;
    return {
      label: axis.label,
      pos: xs.map((v) => (v === undefined ? undefined : hi === lo ? 0.5 : (v - lo) / span)),
      ticks: hi === lo ? [{ at: 0.5, text: num(lo) }] : [{ at: 0, text: num(lo) }, { at: 1, text: num(hi) }],
    };
  }
  const cats = [...new Set(axis.values.filter((v) => v !== undefined).map(String))].sort();
  const at = (i: number) => (cats.length === 1 ? 0.5 : i / (cats.length - 1));
  return {
    label: axis.label,
    pos: axis.values.map((v) => (v === undefined ? undefined : at(cats.indexOf(String(v))))),
    ticks: cats.map((c, i) => ({ at: at(i), text: c })),
  };
}

export function ParallelCoordinates({ axes, runs, colorBy }: { axes: Axis[]; runs: string[]; colorBy: number[] }) {
  const width = 900;
  const height = 300;
  const top = 30;
  const bottom = 24;
  const inner = height - top - bottom;
  const scaled = axes.map(scale);
  const x = (i: number) => 60 + (i * (width - 120)) / Math.max(1, axes.length - 1);
  const y = (p: number) => top + (1 - p) * inner;
  const lo = Math.min(...colorBy.filter(Number.isFinite));
  const hi = Math.max(...colorBy.filter(Number.isFinite));
  const color = (v: number) => {
    const t = hi === lo || !Number.isFinite(v) ? 0.5 : (v - lo) / (hi - lo);
    return `hsl(${Math.round(220 - 200 * t)} 75% 50%)`;
  };
  return (
    <div className="pc">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label="parallel coordinates">
        {scaled.map((a, i) => (
          <g key={a.label} className="axis">
            <line x1={x(i)} x2={x(i)} y1={top} y2={top + inner} />
            <text x={x(i)} y={14} textAnchor="middle" style={{ fill: 'var(--text)', fontWeight: 600 }}>
              {a.label}
            </text>
            {a.ticks.map((t) => (
              <text key={t.text} x={x(i) + 5} y={y(t.at) + 4}>
                {t.text}
              </text>
            ))}
          </g>
        ))}
        {runs.map((run, r) => {
          const points = scaled.map((a, i) => (a.pos[r] === undefined ? undefined : `${x(i)},${y(a.pos[r]!)}`)).filter(Boolean);
          return (
            <polyline key={run} className="line" points={points.join(' ')} stroke={color(colorBy[r])}>
              <title>{run}</title>
            </polyline>
          );
        })}
      </svg>
    </div>
  );
}
