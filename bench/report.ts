/** Shared helpers for benchmark scripts: machine line, statistics, markdown tables, results. */
import os from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const date = new Date().toISOString().slice(0, 10);
  return `Machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}; ${date}`;
}

export function median(xs: number[]): number {
  return percentile(xs, 50);
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

export function table(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

export function writeResults(name: string, markdown: string): void {
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${name}.md`, `${markdown.trim()}\n`);
}
