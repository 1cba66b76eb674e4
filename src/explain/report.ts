/**
 * A model version's explanation report as one self-contained HTML file (inline CSS and SVG, no
 * scripts): the mean |SHAP| bar chart, a beeswarm of every kept row's attributions coloured by
 * the feature's value, dependence plots of the top features, one row's waterfall from the base
 * value to the model output, and permutation importance when it was computed.
 */
import { invalidArgument } from '../core/errors.js';
import { escapeHtml as esc, formatTick } from '../monitoring/report/svg.js';
import type { VersionImportance, ShapImportance } from './service.js';

export interface ReportOptions {
  /** The kept row whose waterfall is drawn (default 0). */
  row?: number;
  /** The output group (class) drawn for a multi-output model (default 0). */
  group?: number;
  /** Features in the beeswarm and bar chart (default 15). */
  top?: number;
}

const CSS = `
:root{--pos:#d7263d;--neg:#1e88e5;--muted:#5f6b7a;--line:#e3e7ee;--bg:#f6f8fb}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2633;background:var(--bg)}
main{max-width:1000px;margin:0 auto;padding:28px 20px 60px}h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:30px 0 10px}
.sub{color:var(--muted)}.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin-bottom:14px}
svg{width:100%;height:auto;display:block}svg text{font-size:11px;fill:#3b4656}svg .grid{stroke:#edf0f4}svg .axis{stroke:#9aa5b1}
svg .bar{fill:#5b6ee1}svg .pos{fill:var(--pos)}svg .neg{fill:var(--neg)}
table{border-collapse:collapse;width:100%;background:#fff}th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:14px}
footer{margin-top:36px;color:var(--muted);font-size:12px}
`;

const fmt = (x: number) => formatTick(x);

interface View {
  s: ShapImportance;
  g: number;
  F: number;
  n: number;
  phi(r: number, j: number): number;
  x(r: number, j: number): number;
  base(r: number): number;
}

function view(s: ShapImportance, group: number): View {
  const F = s.featureNames.length;
  const G = s.groups;
  return {
    s,
    g: group,
    F,
    n: s.sample.rows,
    phi: (r, j) => s.sample.values[(r * G + group) * F + j],
    x: (r, j) => s.sample.x[r * F + j] ?? NaN,
    base: (r) => s.sample.base[r * G + group],
  };
}

/** Horizontal bars of mean |SHAP| for the given features, largest first. */
function barChart(names: string[], values: number[]): string {
  const W = 760;
  const rowH = 22;
  const left = 200;
  const H = names.length * rowH + 30;
  const max = Math.max(...values, 1e-12);
  const x = (v: number) => left + (v / max) * (W - left - 70);
  const parts = names.map((name, i) => {
    const y = 8 + i * rowH;
    return `<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(name)}</text><rect class="bar" x="${left}" y="${y + 3}" width="${(x(values[i]) - left).toFixed(1)}" height="${rowH - 7}"/><text x="${(x(values[i]) + 5).toFixed(1)}" y="${y + 14}">${fmt(values[i])}</text>`;
  });
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="mean absolute SHAP value per feature">${parts.join('')}</svg>`;
}

/** Blue (low) to red (high) by the value's rank within its feature. */
function colour(t: number): string {
  if (Number.isNaN(t)) return '#9aa5b1';
  const r = Math.round(30 + t * (215 - 30));
  const g = Math.round(136 - t * (136 - 38));
  const b = Math.round(229 - t * (229 - 61));
  return `rgb(${r},${g},${b})`;
}

function ranks(v: View, j: number): number[] {
  const vals = Array.from({ length: v.n }, (_, r) => v.x(r, j));
  const present = vals.map((x, r) => [x, r] as const).filter(([x]) => !Number.isNaN(x)).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(v.n).fill(NaN);
  present.forEach(([, r], k) => (out[r] = present.length > 1 ? k / (present.length - 1) : 0.5));
  return out;
}

function beeswarm(v: View, features: number[]): string {
  const W = 760;
  const rowH = 28;
  const left = 200;
  const H = features.length * rowH + 40;
  let lo = 0;
  let hi = 0;
  for (const j of features) for (let r = 0; r < v.n; r++) [lo, hi] = [Math.min(lo, v.phi(r, j)), Math.max(hi, v.phi(r, j))];
  const span = hi - lo || 1;
  const x = (p: number) => left + ((p - lo) / span) * (W - left - 20);
  const parts = [`<line class="axis" x1="${x(0).toFixed(1)}" x2="${x(0).toFixed(1)}" y1="4" y2="${H - 30}"/>`];
  features.forEach((j, i) => {
    const yc = 8 + i * rowH + rowH / 2;
    parts.push(`<text x="${left - 8}" y="${yc + 4}" text-anchor="end">${esc(v.s.featureNames[j])}</text>`);
    const rk = ranks(v, j);
    // Points that fall in the same pixel column stack up and down, so density shows as width.
    const used = new Map<number, number>();
    for (let r = 0; r < v.n; r++) {
      const px = Math.round(x(v.phi(r, j)) / 3);
      const k = used.get(px) ?? 0;
      used.set(px, k + 1);
      const dy = (k % 2 === 0 ? 1 : -1) * Math.ceil(k / 2) * 2.2;
      if (Math.abs(dy) > rowH / 2 - 2) continue;
      parts.push(`<circle cx="${x(v.phi(r, j)).toFixed(1)}" cy="${(yc + dy).toFixed(1)}" r="2.2" fill="${colour(rk[r])}"><title>${esc(`${v.s.featureNames[j]} = ${fmt(v.x(r, j))}: SHAP ${fmt(v.phi(r, j))}`)}</title></circle>`);
    }
  });
  for (const t of [lo, 0, hi]) parts.push(`<text x="${x(t).toFixed(1)}" y="${H - 14}" text-anchor="middle">${fmt(t)}</text>`);
  parts.push(`<text x="${W - 20}" y="${H - 2}" text-anchor="end">SHAP value (colour: feature value, blue low → red high)</text>`);
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="beeswarm of SHAP values">${parts.join('')}</svg>`;
}

function dependence(v: View, j: number): string {
  const W = 360;
  const H = 240;
  const m = { l: 46, r: 10, t: 10, b: 34 };
  const pts = Array.from({ length: v.n }, (_, r) => [v.x(r, j), v.phi(r, j)] as const).filter(([x]) => !Number.isNaN(x));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(0, ...ys), Math.max(0, ...ys)];
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const sy = (y: number) => m.t + (1 - (y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
  const parts = [
    `<line class="grid" x1="${m.l}" x2="${W - m.r}" y1="${sy(0).toFixed(1)}" y2="${sy(0).toFixed(1)}"/>`,
    `<line class="axis" x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}"/>`,
    ...pts.map(([x, y]) => `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2.4" class="${y >= 0 ? 'pos' : 'neg'}" fill-opacity=".6"/>`),
    `<text x="${m.l - 4}" y="${sy(y1) + 4}" text-anchor="end">${fmt(y1)}</text><text x="${m.l - 4}" y="${sy(y0) + 4}" text-anchor="end">${fmt(y0)}</text>`,
    `<text x="${m.l}" y="${H - 18}">${fmt(x0)}</text><text x="${W - m.r}" y="${H - 18}" text-anchor="end">${fmt(x1)}</text>`,
    `<text x="${(W + m.l) / 2}" y="${H - 4}" text-anchor="middle">${esc(v.s.featureNames[j])}</text>`,
  ];
  return `<div class="card"><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="dependence plot of ${esc(v.s.featureNames[j])}">${parts.join('')}</svg></div>`;
}

/** From the base value, each feature's push (largest first, the rest folded), to the output. */
function waterfall(v: View, r: number, top: number): string {
  const order = Array.from({ length: v.F }, (_, j) => j).sort((a, b) => Math.abs(v.phi(r, b)) - Math.abs(v.phi(r, a)));
  const shown = order.slice(0, top);
  const rest = order.slice(top).reduce((s, j) => s + v.phi(r, j), 0);
  const steps = shown.map((j) => ({ label: `${v.s.featureNames[j]} = ${fmt(v.x(r, j))}`, d: v.phi(r, j) }));
  if (order.length > top) steps.push({ label: `${order.length - top} other features`, d: rest });
  const base = v.base(r);
  let acc = base;
  const bars = steps.map((s) => {
    const from = acc;
    acc += s.d;
    return { ...s, from, to: acc };
  });
  const all = [base, acc, ...bars.flatMap((b) => [b.from, b.to])];
  const [lo, hi] = [Math.min(...all), Math.max(...all)];
  const W = 760;
  const left = 240;
  const rowH = 22;
  const H = (bars.length + 2) * rowH + 20;
  const x = (t: number) => left + ((t - lo) / (hi - lo || 1)) * (W - left - 80);
  const parts = [`<text x="${left - 8}" y="${rowH - 6}" text-anchor="end">base value</text><text x="${x(base).toFixed(1)}" y="${rowH - 6}">${fmt(base)}</text>`];
  bars.forEach((b, i) => {
    const y = (i + 1) * rowH;
    const [a, c] = [Math.min(b.from, b.to), Math.max(b.from, b.to)];
    parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(b.label)}</text>`);
    parts.push(`<rect class="${b.d >= 0 ? 'pos' : 'neg'}" x="${x(a).toFixed(1)}" y="${y + 3}" width="${Math.max(1, x(c) - x(a)).toFixed(1)}" height="${rowH - 7}"/>`);
    parts.push(`<text x="${(x(c) + 5).toFixed(1)}" y="${y + 14}">${b.d >= 0 ? '+' : ''}${fmt(b.d)}</text>`);
  });
  const yEnd = (bars.length + 1) * rowH;
  parts.push(`<text x="${left - 8}" y="${yEnd + 14}" text-anchor="end">output (${esc(v.s.output)})</text><text x="${x(acc).toFixed(1)}" y="${yEnd + 14}">${fmt(acc)}</text>`);
  parts.push(`<line class="axis" x1="${x(base).toFixed(1)}" x2="${x(base).toFixed(1)}" y1="${rowH}" y2="${yEnd}"/>`);
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="waterfall of one row">${parts.join('')}</svg>`;
}

export function renderExplanationReport(imp: VersionImportance, options: ReportOptions = {}, generatedAt = new Date()): string {
  const s = imp.shap;
  if (!s) throw invalidArgument(`model "${imp.model}" version ${imp.version} has no stored explanations; run modelport explain importance first`);
  const group = options.group ?? 0;
  if (!Number.isInteger(group) || group < 0 || group >= s.groups) throw invalidArgument(`class: ${group} is not an output of the model (0..${s.groups - 1})`);
  const row = options.row ?? 0;
  if (!Number.isInteger(row) || row < 0 || row >= s.sample.rows) throw invalidArgument(`row: ${row} is not one of the ${s.sample.rows} rows kept for the report`);
  const top = options.top ?? 15;
  const v = view(s, group);
  const order = s.mean.map((_, j) => j).sort((a, b) => s.mean[b] - s.mean[a]).slice(0, top);
  const meanOf = s.groups > 1 ? s.perGroup[group] : s.mean;
  const groupText = s.groups > 1 ? ` (class ${group} of ${s.groups})` : '';
  const perm = imp.permutation;
  const permTable = perm
    ? `<h2>Permutation importance</h2><p class="sub">${esc(perm.metric)} on ${esc(perm.dataset)} (label ${esc(perm.label)}), baseline ${fmt(perm.baseline)}, ${perm.repeats} shuffles per feature: how much the score worsens when the feature is shuffled.</p>
<table><tr><th>feature</th><th>loss</th><th>std</th></tr>${perm.mean
        .map((_, j) => j)
        .sort((a, b) => perm.mean[b] - perm.mean[a])
        .map((j) => `<tr><td>${esc(perm.featureNames[j])}</td><td class="num">${fmt(perm.mean[j])}</td><td class="num">${fmt(perm.std[j])}</td></tr>`)
        .join('')}</table>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Explanations: ${esc(imp.model)} version ${imp.version}</title><style>${CSS}</style></head><body><main>
<h1>Explanations: ${esc(imp.model)} version ${imp.version}</h1>
<p class="sub">${esc(s.method === 'tree' ? 'exact TreeSHAP' : s.method === 'kernel' ? 'KernelSHAP' : 'LIME')} explaining "${esc(s.output)}"${esc(groupText)} on ${esc(s.dataset)}, ${s.rows} rows (${s.sample.rows} drawn below).</p>
<h2>Mean |SHAP| per feature</h2><div class="card">${barChart(order.map((j) => s.featureNames[j]), order.map((j) => meanOf[j]))}</div>
<h2>Every row's attributions</h2><div class="card">${beeswarm(v, order)}</div>
<h2>Dependence of the top features</h2><div class="grid2">${order.slice(0, 3).map((j) => dependence(v, j)).join('')}</div>
<h2>Row ${row}: from the base value to the output</h2><div class="card">${waterfall(v, row, 10)}</div>
${permTable}
<footer>modelport · generated ${esc(generatedAt.toISOString())}</footer>
</main></body></html>`;
}
