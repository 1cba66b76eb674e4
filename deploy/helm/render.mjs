#!/usr/bin/env node
/**
 * Renders the modelport chart without helm, for machines that do not have it (CI here):
 *   node deploy/helm/render.mjs [RELEASE] > deploy/k8s/modelport.yaml
 * The chart's templates keep to a subset of Go templates this file understands —
 * `{{ .Values.a.b }}`, `{{ .Release.Name }}`, `| quote`, `{{- toYaml X | nindent N }}` and
 * `{{- if X }} … {{- end }}` — so `helm template` renders them the same way.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const CHART = fileURLToPath(new URL('./modelport/', import.meta.url));

function lookup(path, scope) {
  let value = scope;
  for (const part of path.replace(/^\./, '').split('.')) {
    if (value === undefined || value === null) break;
    value = value[part];
  }
  if (value === undefined) throw new Error(`template refers to ${path}, which the values do not define`);
  return value;
}

function evaluate(expr, scope) {
  const [head, ...pipes] = expr.split('|').map((p) => p.trim());
  let value;
  let text;
  const toYaml = /^toYaml\s+(\S+)$/.exec(head);
  if (toYaml) value = lookup(toYaml[1], scope);
  else value = lookup(head, scope);
  text = toYaml ? YAML.stringify(value).trimEnd() : String(value);
  for (const pipe of pipes) {
    const nindent = /^nindent\s+(\d+)$/.exec(pipe);
    if (pipe === 'quote') text = JSON.stringify(text);
    else if (nindent) text = '\n' + text.split('\n').map((l) => ' '.repeat(Number(nindent[1])) + l).join('\n');
    else throw new Error(`unsupported template function "${pipe}"`);
  }
  return text;
}

export function renderTemplate(source, scope) {
  // `{{-` trims the whitespace before it, newline included, as in Go templates.
  let text = source.replace(/\s*\{\{-/g, '{{');
  text = text.replace(/\{\{\s*if\s+(\S+)\s*\}\}([\s\S]*?)\{\{\s*end\s*\}\}/g, (_, cond, body) => (lookup(cond, scope) ? body : ''));
  return text.replace(/\{\{\s*([^}]+?)\s*\}\}/g, (_, expr) => evaluate(expr, scope)).replace(/^\n+/, '');
}

/** Every template rendered for `release`, as helm template prints them (`# Source:` headers, `---` between). */
export function renderChart(release = 'modelport', values = YAML.parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'))) {
  const chart = YAML.parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'));
  const scope = { Values: values, Release: { Name: release }, Chart: { Name: chart.name, AppVersion: chart.appVersion, Version: chart.version } };
  const docs = [];
  for (const file of readdirSync(join(CHART, 'templates')).filter((f) => f.endsWith('.yaml')).sort()) {
    const out = renderTemplate(readFileSync(join(CHART, 'templates', file), 'utf8'), scope).trimEnd();
    if (out.trim() !== '') docs.push(`# Source: modelport/templates/${file}\n${out}\n`);
  }
  return docs.map((d) => `---\n${d}`).join('');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.stdout.write(renderChart(process.argv[2]));
