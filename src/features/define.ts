/**
 * Writing definitions: `defineFeatures()` for TypeScript (on-demand transforms as real
 * functions) and `parseFeatureYaml()` for YAML. Both give the same FeatureRepoSpec, with file
 * paths made absolute against the definition file's folder.
 */
import { readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { yaml } from '../core/yaml.js';
import { invalidArgument, notFound } from '../core/errors.js';
import type { EntitySpec, FeatureRepoSpec, FeatureServiceSpec, FeatureViewSpec, OnDemandViewSpec, SourceSpec } from './types.js';

/** What an on-demand transform receives: request values and source features by name. */
export type TransformRow = Record<string, string | number | boolean | null>;

export interface OnDemandViewInput extends Omit<OnDemandViewSpec, 'transform'> {
  /**
   * Runs once per row, offline and online alike. It is stored as source text, so it may use
   * only its argument and JavaScript's built-ins (no imports or outer variables).
   */
  transform: ((row: TransformRow) => TransformRow) | string;
}

export interface FeatureRepoInput {
  project?: string;
  entities: EntitySpec[];
  sources: SourceSpec[];
  feature_views: FeatureViewSpec[];
  on_demand_feature_views?: OnDemandViewInput[];
  feature_services?: FeatureServiceSpec[];
}

/** The TypeScript form: `export default defineFeatures({...})` in a .ts/.js/.mjs module. */
export function defineFeatures(input: FeatureRepoInput): FeatureRepoSpec {
  return {
    ...input,
    on_demand_feature_views: input.on_demand_feature_views?.map((v) => ({
      ...v,
      transform: typeof v.transform === 'function' ? v.transform.toString() : v.transform,
    })),
  };
}

/** Makes source paths absolute against `baseDir`. */
export function resolvePaths(spec: FeatureRepoSpec, baseDir: string): FeatureRepoSpec {
  return {
    ...spec,
    sources: (spec.sources ?? []).map((s) => (s.path && !isAbsolute(s.path) ? { ...s, path: resolve(baseDir, s.path) } : s)),
  };
}

export function parseFeatureYaml(text: string, baseDir: string, file = 'definition'): FeatureRepoSpec {
  let doc: unknown;
  try {
    doc = yaml().parse(text);
  } catch (err) {
    throw invalidArgument(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw invalidArgument(`${file}: expected a mapping with entities, sources and feature_views`);
  return resolvePaths(doc as FeatureRepoSpec, baseDir);
}

const MODULE_EXTS = ['.ts', '.mts', '.js', '.mjs'];

/** Loads a definition file: YAML (.yaml/.yml), JSON, or a module whose default export is a definition. */
export async function loadFeatureFile(path: string): Promise<FeatureRepoSpec> {
  const abs = resolve(path);
  const ext = extname(abs).toLowerCase();
  if (ext === '.yaml' || ext === '.yml' || ext === '.json') {
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch {
      throw notFound(`${path}: no such file`);
    }
    return parseFeatureYaml(text, dirname(abs), path);
  }
  if (!MODULE_EXTS.includes(ext)) throw invalidArgument(`${path}: use a .yaml, .yml, .json, .ts, .js or .mjs definition file`);
  let mod: { default?: unknown };
  try {
    mod = await import(pathToFileURL(abs).href);
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0];
    throw invalidArgument(`${path}: cannot load: ${msg}${ext.endsWith('ts') ? ' (TypeScript definitions need a TypeScript loader, e.g. node --import tsx)' : ''}`);
  }
  if (!mod.default || typeof mod.default !== 'object') throw invalidArgument(`${path}: the module must \`export default defineFeatures({...})\``);
  return resolvePaths(defineFeatures(mod.default as FeatureRepoInput), dirname(abs));
}
