/** Inline SVG charts for the drift report: no scripts, no external resources. */
import type { Distribution } from '../drift/types.js';

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Short, readable numbers for axis labels. */
export function formatTick(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-3) return x.toExponential(1);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  return String(Number(x.toPrecision(3)));
}

/** A round step giving about `target` gridlines up to `max`. */
function niceStep(max: number, target: number): number {
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

/** Categories beyond this many are folded into "other" so labels stay legible. */
const MAX_CATEGORIES = 16;

interface Bars {
  labels: string[];
  reference: number[];
  current: number[];
  /** Bin edges for numerical histograms (labels are then drawn at a few edges, not per bar). */
  edges?: number[];
}

function shares(counts: number[]): number[] {
  const total = counts.reduce((s, c) => s + c, 0);
  return counts.map((c) => (total === 0 ? 0 : c / total));
}

function barsOf(d: Distribution): Bars {
  if (d.kind === 'bins') {
    return { labels: [], reference: shares(d.reference), current: shares(d.current), edges: d.edges };
  }
  const ref = shares(d.reference);
  const cur = shares(d.current);
  if (d.values.length <= MAX_CATEGORIES) return { labels: d.values, reference: ref, current: cur };
  const order = d.values.map((_, i) => i).sort((a, b) => ref[b] + cur[b] - (ref[a] + cur[a]));
  const keep = order.slice(0, MAX_CATEGORIES - 1);
  const rest = order.slice(MAX_CATEGORIES - 1);
  const sum = (xs: number[], idx: number[]) => idx.reduce((s, i) => s + xs[i], 0);
  return {
    labels: [...keep.map((i) => d.values[i]), `other (${rest.length})`],
    reference: [...keep.map((i) => ref[i]), sum(ref, rest)],
    current: [...keep.map((i) => cur[i]), sum(cur, rest)],
  };
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * Reference and current shares per bin (or category), overlaid: translucent blue and orange,
 * so where they agree the bars merge and where they differ one colour sticks out.
 */
export function histogramSvg(d: Distribution, title: string): string {
  const b = barsOf(d);
  const W = 620;
  const H = 230;
  const m = { l: 48, r: 12, t: 12, b: d.kind === 'bins' ? 34 : 62 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const n = b.reference.length;
  const maxShare = Math.max(...b.reference, ...b.current, 1e-9);
  const step = niceStep(maxShare, 4);
  const top = Math.ceil(maxShare / step) * step;
  const y = (v: number) => m.t + ph - (v / top) * ph;
  const slot = pw / n;
  const gap = d.kind === 'bins' ? 0 : Math.min(6, slot * 0.15);
  const parts: string[] = [];
  for (let v = 0; v <= top + step / 2; v += step) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(y(v) + 4).toFixed(1)}" class="tick" text-anchor="end">${formatTick(v * 100)}%</text>`);
  }
  const bar = (i: number, v: number, cls: string, who: string) => {
    const x = m.l + i * slot + gap / 2;
    const label = b.edges ? `${formatTick(b.edges[i])} – ${formatTick(b.edges[i + 1])}` : b.labels[i];
    return `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${Math.max(slot - gap, 0.5).toFixed(1)}" height="${(m.t + ph - y(v)).toFixed(1)}" class="${cls}"><title>${escapeHtml(`${label}: ${who} ${(v * 100).toFixed(2)}%`)}</title></rect>`;
  };
  for (let i = 0; i < n; i++) parts.push(bar(i, b.reference[i], 'ref', 'reference'));
  for (let i = 0; i < n; i++) parts.push(bar(i, b.current[i], 'cur', 'current'));
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${m.t + ph}" y2="${m.t + ph}" class="axis"/>`);
  if (b.edges) {
    const every = Math.max(1, Math.ceil(b.edges.length / 7));
    b.edges.forEach((e, i) => {
      if (i % every !== 0 && i !== b.edges!.length - 1) return;
      const x = m.l + i * slot;
      parts.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${m.t + ph}" y2="${m.t + ph + 4}" class="axis"/>`);
      const anchor = i === 0 ? 'start' : i === b.edges!.length - 1 ? 'end' : 'middle';
      parts.push(`<text x="${x.toFixed(1)}" y="${m.t + ph + 17}" class="tick" text-anchor="${anchor}">${escapeHtml(formatTick(e))}</text>`);
    });
  } else {
    b.labels.forEach((l, i) => {
      const x = m.l + (i + 0.5) * slot;
      parts.push(
        `<text x="${x.toFixed(1)}" y="${m.t + ph + 14}" class="tick" text-anchor="end" transform="rotate(-35 ${x.toFixed(1)} ${m.t + ph + 14})">${escapeHtml(truncate(l, 18))}</text>`,
      );
    });
  }
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(title)}" class="hist">${parts.join('')}</svg>`;
}

/** A tiny two-line sparkline of the same shares for the summary table. */
export function sparklineSvg(d: Distribution): string {
  const b = barsOf(d);
  const W = 120;
  const H = 28;
  const n = b.reference.length;
  const max = Math.max(...b.reference, ...b.current, 1e-9);
  const slot = W / n;
  const rects = (xs: number[], cls: string) =>
    xs.map((v, i) => `<rect x="${(i * slot).toFixed(1)}" y="${(H - (v / max) * H).toFixed(1)}" width="${Math.max(slot - 0.5, 0.5).toFixed(1)}" height="${((v / max) * H).toFixed(1)}" class="${cls}"/>`).join('');
  return `<svg viewBox="0 0 ${W} ${H}" class="spark" aria-hidden="true">${rects(b.reference, 'ref')}${rects(b.current, 'cur')}</svg>`;
}
