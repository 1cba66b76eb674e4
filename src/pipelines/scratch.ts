/**
 * Scratch folders for step attempts: each attempt gets a folder with an empty `out/`. A folder
 * an attempt left as it found it goes back to a small pool for the next attempt, because on a
 * busy disk creating and removing two folders costs more than a short step's whole record in
 * the store.
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Pristine folders kept per work folder; beyond this many at once they are removed. */
const POOL = 64;
const pools = new Map<string, string[]>();

export async function takeScratch(workDir: string): Promise<string> {
  const spare = pools.get(workDir)?.pop();
  if (spare) return spare;
  const dir = await mkdtemp(join(workDir, 'step-'));
  await mkdir(join(dir, 'out'));
  return dir;
}

export async function returnScratch(workDir: string, dir: string, reusable: boolean): Promise<void> {
  let pool = pools.get(workDir);
  if (!pool) pools.set(workDir, (pool = []));
  if (reusable && pool.length < POOL && (await pristine(dir))) pool.push(dir);
  else await rm(dir, { recursive: true, force: true });
}

async function pristine(dir: string): Promise<boolean> {
  try {
    const top = await readdir(dir);
    return top.length === 1 && top[0] === 'out' && (await readdir(join(dir, 'out'))).length === 0;
  } catch {
    return false;
  }
}
