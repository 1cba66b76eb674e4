/** Registering fixture models and calling a serving server, for serving tests. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegistryService } from '../../src/registry/index.js';
import { tempDir } from '../helpers/services.js';
import { parseWithNonFinite } from '../../src/client/client.js';

export const MODELS = new URL('../fixtures/models/', import.meta.url).pathname;
export const LOGREG = join(MODELS, 'onnx_logreg_breast_cancer');
export const FOREST = join(MODELS, 'onnx_forest_breast_cancer');
export const XGB = join(MODELS, 'xgb_breast_cancer');

/** Registers the files of `dir` (or only `only`) as a new version of `name`; returns the version. */
export async function register(registry: RegistryService, name: string, dir: string, only?: string[]): Promise<number> {
  const names = only ?? (await readdir(dir)).filter((f) => f.endsWith('.onnx') || f === 'MLmodel' || f === 'model.json' || f.endsWith('.js') || f.endsWith('.mjs') || f.endsWith('.json'));
  const files = [];
  for (const f of names) {
    const { sha256 } = await registry.putBlob(await readFile(join(dir, f)));
    files.push({ path: f, sha256 });
  }
  const v = await registry.createVersion({ name, files, createModel: true });
  return v.version;
}

/** The 114 held-out breast-cancer rows of the fixtures (30 features each). */
export async function breastCancerRows(): Promise<number[][]> {
  const text = await readFile(join(LOGREG, 'input.csv'), 'utf8');
  return text.trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
}

export async function expectedLogreg(): Promise<{ probabilities: number[][]; label: number[] }> {
  return JSON.parse(await readFile(join(LOGREG, 'expected.json'), 'utf8'));
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = parseWithNonFinite(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export function v2Row(row: number[], name = 'input'): { inputs: { name: string; shape: number[]; datatype: string; data: number[] }[] } {
  return { inputs: [{ name, shape: [1, row.length], datatype: 'FP32', data: row }] };
}

/** A js model whose load fails, to register as a broken version. */
export function brokenModel(): string {
  const dir = tempDir('broken');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.mjs'), "export async function load() { throw new Error('weights file is corrupt'); }\nexport function predict() {}\n");
  return dir;
}

