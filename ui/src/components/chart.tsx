/**
 * Line charts through uPlot (canvas; draws 100,000 points in milliseconds). Series with
 * different x values are aligned on the union of their x values, gaps spanned.
 */
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

interface Props {
  series: Series[];
  title?: string;
  xLabel?: string;
  /** x values are epoch seconds. */
  time?: boolean;
  height?: number;
  /** Vertical marks (x values), e.g. when an alert fired. */
  marks?: { x: number; label: string }[];
  /** Horizontal reference lines, e.g. a threshold. */
  lines?: { y: number; label: string }[];
}

const PALETTE = ['#4f7cff', '#f5803e', '#2fbf71', '#e5484d', '#a87ffb', '#12a5c4', '#d4a72c', '#e35fb1'];

export function colorOf(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** uPlot's data layout: one shared x array, then one y array per series (null where absent). */
export function align(series: Series[]): uPlot.AlignedData {
  const gap = (v: number) => (Number.isFinite(v) ? v : null);
  if (series.length === 1) return [Array.from(series[0].x), Array.from(series[0].y, gap)];
  const xs = [...new Set(series.flatMap((s) => Array.from(s.x)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const out: (number | null)[] = new Array(xs.length).fill(null);
    for (let i = 0; i < s.x.length; i++) out[index.get(s.x[i])!] = gap(s.y[i]);
    return out;
  });
  return [xs, ...ys];
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

const NONE: never[] = [];

export function LineChart({ series, title, xLabel, time = false, height = 260, marks = NONE, lines = NONE }: Props) {
  const box = useRef<HTMLDivElement>(null);
  // Axis and grid colours come from the theme: a theme switch redraws the chart.
  const [theme, setTheme] = useState(document.documentElement.dataset.theme);
  useEffect(() => {
    const watch = new MutationObserver(() => setTheme(document.documentElement.dataset.theme));
    watch.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
    return () => watch.disconnect();
  }, []);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = { stroke: cssVar('--muted'), grid: { stroke: cssVar('--grid'), width: 1 }, ticks: { stroke: cssVar('--grid'), width: 1 } };
    const drawMarks = (u: uPlot) => {
      const ctx = u.ctx;
      ctx.save();
      ctx.lineWidth = 1.5 * devicePixelRatio;
      ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
      ctx.font = `${11 * devicePixelRatio}px sans-serif`;
      for (const m of marks) {
        const x = u.valToPos(m.x, 'x', true);
        ctx.strokeStyle = ctx.fillStyle = '#e5484d';
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.fillText(m.label, x + 4 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
      }
      for (const l of lines) {
        const y = u.valToPos(l.y, 'y', true);
        ctx.strokeStyle = ctx.fillStyle = cssVar('--muted');
        ctx.beginPath();
        ctx.moveTo(u.bbox.left, y);
        ctx.lineTo(u.bbox.left + u.bbox.width, y);
        ctx.stroke();
        ctx.fillText(l.label, u.bbox.left + 4 * devicePixelRatio, y - 4 * devicePixelRatio);
      }
      ctx.restore();
    };
    const extra = lines.map((l) => l.y);
    const opts: uPlot.Options = {
      width: el.clientWidth || 600,
      height,
      title,
      scales: {
        // Marks outside the data (an alert fired after the last window) widen the x range.
        x: {
          time,
          range: (_u, lo, hi) => {
            const min = Math.min(lo ?? Infinity, ...marks.map((m) => m.x));
            const max = Math.max(hi ?? -Infinity, ...marks.map((m) => m.x));
            return min < max ? [min, max] : [min - 1, min + 1];
          },
        },
        y: { range: (_u, lo, hi) => {
          const min = Math.min(lo ?? Infinity, ...extra);
          const max = Math.max(hi ?? -Infinity, ...extra);
          const pad = (max - min) * 0.05 || Math.abs(max) * 0.05 || 1;
          return [min - pad, max + pad];
        } },
      },
      axes: [{ ...axis, label: xLabel }, { ...axis, size: 60 }],
      legend: { show: series.length > 0 },
      series: [{ label: xLabel ?? 'x' }, ...series.map((s, i) => ({ label: s.label, stroke: colorOf(i), width: 1.5, spanGaps: true, points: { show: false } }))],
      hooks: { draw: [drawMarks] },
    };
    const plot = new uPlot(opts, align(series), el);
    el.dataset.points = String(series.reduce((n, s) => n + s.x.length, 0));
    const resize = new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series, title, xLabel, time, height, marks, lines, theme]);
  return <div className="chart" ref={box} data-testid="chart" aria-label={title ?? 'chart'} />;
}
