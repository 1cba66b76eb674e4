/**
 * A self-contained HTML drift report: verdict first, then the table of every column, then one
 * card per column with its overlaid histogram and statistics. Inline CSS and SVG only: the
 * file opens offline, from an email attachment or a CI artifact.
 */
import { METHODS } from '../drift/methods.js';
import type { ColumnDrift, ComputedColumn, DriftReport } from '../drift/types.js';
import { escapeHtml as esc, histogramSvg, sparklineSvg } from './svg.js';

/** p-values span hundreds of orders of magnitude; distances are read to 4 digits. */
export function formatNumber(x: number | undefined): string {
  if (x === undefined) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-4 || a >= 1e6) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}

const pct = (x: number) => `${(x * 100).toFixed(x !== 0 && Math.abs(x) < 0.01 ? 2 : 1)}%`;

const CSS = `
:root{--ref:#2f6fde;--cur:#f08a24;--bad:#c62828;--ok:#2e7d32;--muted:#5f6b7a;--line:#e3e7ee;--bg:#f6f8fb}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2633;background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:28px 20px 60px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 12px}h3{font-size:16px;margin:0}
.sub{color:var(--muted)}
.verdict{margin:20px 0;padding:18px 22px;border-radius:10px;color:#fff;display:flex;gap:28px;align-items:center;flex-wrap:wrap}
.verdict.drift{background:var(--bad)}.verdict.nodrift{background:var(--ok)}
.verdict .big{font-size:22px;font-weight:650}.verdict .kpi{font-size:13px;opacity:.92}.verdict .kpi b{display:block;font-size:20px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line);border-radius:8px;overflow:hidden}
th,td{padding:7px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:middle}
th{background:#eef2f7;font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:#3b4656}
td.num{font-variant-numeric:tabular-nums;text-align:right;white-space:nowrap}
tr.drifted td:first-child{border-left:4px solid var(--bad)}tr.stable td:first-child{border-left:4px solid var(--ok)}tr.skipped td:first-child{border-left:4px solid #9aa5b1}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;color:#fff}
.badge.drift{background:var(--bad)}.badge.nodrift{background:var(--ok)}.badge.skip{background:#8a96a3}
a{color:inherit}
.cards{display:grid;gap:16px}
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:16px 18px}
.card header{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap;margin-bottom:6px}
.card .meta{color:var(--muted);font-size:13px}
.card .body{display:grid;grid-template-columns:minmax(0,1.6fr) minmax(240px,1fr);gap:18px;align-items:start}
@media (max-width:800px){.card .body{grid-template-columns:1fr}}
.stats td{padding:4px 8px;font-size:13px}.stats td:first-child{color:var(--muted)}
.stats tr.chosen td{font-weight:650;background:#fff7e8}
.legend{display:flex;gap:14px;font-size:12px;color:var(--muted);margin:2px 0 4px}
.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
svg.hist{width:100%;height:auto;display:block}svg.spark{width:120px;height:28px;display:block}
svg .ref{fill:var(--ref);fill-opacity:.45}svg .cur{fill:var(--cur);fill-opacity:.5}
svg .grid{stroke:#edf0f4}svg .axis{stroke:#9aa5b1}svg .tick{font-size:11px;fill:#5f6b7a}
ul.notes{margin:8px 0 0;padding-left:18px;color:var(--muted);font-size:13px}
footer{margin-top:40px;color:var(--muted);font-size:12px}
`;

function verdict(r: DriftReport): string {
  const s = r.summary;
  const drifted = s.datasetDrift;
  return `<section class="verdict ${drifted ? 'drift' : 'nodrift'}">
<div class="big">${drifted ? 'Dataset drift detected' : 'No dataset drift'}</div>
<div class="kpi"><b>${s.drifted} of ${s.computed}</b>columns drifted</div>
<div class="kpi"><b>${pct(s.share)}</b>drifted share (verdict at ≥ ${pct(s.driftShare)})</div>
${s.columns > s.computed ? `<div class="kpi"><b>${s.columns - s.computed}</b>column(s) not compared</div>` : ''}
</section>`;
}

const anchor = (c: ColumnDrift) => `col-${encodeURIComponent(c.column).replace(/%/g, '_')}`;

function summaryRow(c: ColumnDrift): string {
  const name = `<a href="#${anchor(c)}">${esc(c.column)}</a>${c.role !== 'feature' ? ` <span class="sub">(${c.role})</span>` : ''}`;
  if (!c.computed) {
    return `<tr class="skipped"><td>${name}</td><td colspan="6" class="sub">${esc(c.reason)}</td><td><span class="badge skip">not compared</span></td></tr>`;
  }
  return `<tr class="${c.drift ? 'drifted' : 'stable'}"><td>${name}</td><td>${c.kind}</td><td>${esc(METHODS[c.method].label)}</td>
<td class="num">${formatNumber(c.score)}</td><td class="num">${formatNumber(c.threshold)}</td>
<td class="num">${pct(c.reference.missingShare)} → ${pct(c.current.missingShare)}</td><td>${sparklineSvg(c.distribution)}</td>
<td><span class="badge ${c.drift ? 'drift' : 'nodrift'}">${c.drift ? 'drift' : 'no drift'}</span></td></tr>`;
}

function statRows(c: ComputedColumn): string {
  const s = c.stats;
  const rows: [string, string, boolean][] = [];
  const add = (label: string, value: string, chosen = false) => rows.push([label, value, chosen]);
  if (s.ks) add('KS statistic / p-value', `${formatNumber(s.ks.statistic)} / ${formatNumber(s.ks.pvalue)} (${s.ks.method})`, c.method === 'ks');
  if (s.wassersteinNormed !== undefined) add('Wasserstein (normed)', formatNumber(s.wassersteinNormed), c.method === 'wasserstein');
  if (s.wasserstein !== undefined) add('Wasserstein', formatNumber(s.wasserstein));
  add('PSI', formatNumber(s.psi), c.method === 'psi');
  add('Jensen–Shannon (base 2)', formatNumber(s.jensenShannonBase2), c.method === 'jensenshannon');
  add('Jensen–Shannon (ln, filled bins)', formatNumber(s.jensenShannon));
  if (s.chiSquare) add(`Chi-square (dof ${s.chiSquare.dof}) / p-value`, `${formatNumber(s.chiSquare.statistic)} / ${formatNumber(s.chiSquare.pvalue)}`, c.method === 'chisquare');
  if (s.zTest) add('Z / p-value', `${formatNumber(s.zTest.statistic)} / ${formatNumber(s.zTest.pvalue)}`, c.method === 'z');
  if (s.tTest) add('Welch t / p-value', `${formatNumber(s.tTest.statistic)} / ${formatNumber(s.tTest.pvalue)}`, c.method === 't_test');
  if (c.reference.mean !== undefined && c.current.mean !== undefined) {
    add('Mean (ref → cur)', `${formatNumber(c.reference.mean)} → ${formatNumber(c.current.mean)}`);
    add('Std (ref → cur)', `${formatNumber(c.reference.std)} → ${formatNumber(c.current.std)}`);
  }
  add('Distinct values (ref / cur)', `${c.reference.distinct} / ${c.current.distinct}`);
  add('Rows (ref / cur)', `${c.reference.rows} / ${c.current.rows}`);
  add('Missing (ref → cur)', `${pct(c.reference.missingShare)} → ${pct(c.current.missingShare)}`);
  return rows.map(([l, v, chosen]) => `<tr${chosen ? ' class="chosen"' : ''}><td>${esc(l)}</td><td class="num">${esc(v)}</td></tr>`).join('');
}

function card(c: ColumnDrift): string {
  if (!c.computed) {
    return `<article class="card" id="${anchor(c)}"><header><h3>${esc(c.column)}</h3><span class="badge skip">not compared</span></header><p class="sub">${esc(c.reason)}</p></article>`;
  }
  const how = `${METHODS[c.method].label} ${formatNumber(c.score)} (${c.rule.replace('threshold', formatNumber(c.threshold))}${c.methodSource === 'default' ? ', default choice' : ''})`;
  return `<article class="card" id="${anchor(c)}">
<header><h3>${esc(c.column)}</h3><span class="badge ${c.drift ? 'drift' : 'nodrift'}">${c.drift ? 'drift' : 'no drift'}</span><span class="meta">${c.kind} · ${esc(how)}</span></header>
<div class="body"><div><div class="legend"><span><i style="background:var(--ref);opacity:.6"></i>reference</span><span><i style="background:var(--cur);opacity:.7"></i>current</span><span>share of non-missing values${c.distribution.kind === 'bins' ? ` · ${c.distribution.edges.length - 1} Sturges bins` : ''}</span></div>
${histogramSvg(c.distribution, `${c.column}: reference and current distributions`)}</div>
<table class="stats">${statRows(c)}</table></div>
${c.notes.length ? `<ul class="notes">${c.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
</article>`;
}

/** Orders columns as a reader triages them: drifted first, then stable, then not compared. */
function triage(columns: ColumnDrift[]): ColumnDrift[] {
  const rank = (c: ColumnDrift) => (!c.computed ? 2 : c.drift ? 0 : 1);
  return columns.map((c, i) => ({ c, i })).sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i).map((x) => x.c);
}

export function renderDriftHtml(report: DriftReport): string {
  const cols = triage(report.columns);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Data drift: ${esc(report.current.name)} vs ${esc(report.reference.name)}</title><style>${CSS}</style></head>
<body><main>
<h1>Data drift report</h1>
<div class="sub">Reference <b>${esc(report.reference.name)}</b> (${report.reference.rows.toLocaleString('en-US')} rows) · current <b>${esc(report.current.name)}</b> (${report.current.rows.toLocaleString('en-US')} rows) · ${esc(report.generatedAt)}</div>
${verdict(report)}
<h2>Columns</h2>
<table><thead><tr><th>Column</th><th>Type</th><th>Test</th><th>Score</th><th>Threshold</th><th>Missing</th><th>Distribution</th><th>Verdict</th></tr></thead>
<tbody>${cols.map(summaryRow).join('')}</tbody></table>
<h2>Per column</h2>
<div class="cards">${cols.map(card).join('')}</div>
<footer>Generated by modelport. Tests and default thresholds follow Evidently's data-drift preset: KS p ≤ 0.05 and chi-square / z p &lt; 0.05 for references of up to 1,000 rows, normed Wasserstein and Jensen–Shannon ≥ 0.1 above.</footer>
</main></body></html>
`;
}

/** The JSON form of the same report (every per-column statistic). */
export function renderDriftJson(report: DriftReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
