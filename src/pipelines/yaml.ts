/**
 * Pipelines written in YAML (or JSON): command and built-in steps. Command steps run in the
 * file's folder, which becomes the pipeline's `dir`.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { yaml } from '../core/yaml.js';
import { invalidArgument, notFound } from '../core/errors.js';
import type { PipelineSpec } from './definition.js';

export function parsePipelineText(text: string, source: string, dir?: string): PipelineSpec {
  let parsed: unknown;
  try {
    parsed = yaml().parse(text);
  } catch (err) {
    if (err instanceof yaml().YAMLParseError) throw invalidArgument(`${source}: ${err.message.split('\n')[0]}`);
    throw err;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidArgument(`${source}: expected a mapping with name and steps`);
  const spec = parsed as PipelineSpec;
  return dir === undefined ? spec : { ...spec, dir };
}

export function loadPipelineFile(path: string): PipelineSpec {
  const full = resolve(path);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch {
    throw notFound(`pipeline file ${path} does not exist or cannot be read`);
  }
  return parsePipelineText(text, path, dirname(full));
}
