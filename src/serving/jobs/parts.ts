/**
 * The durable state of a batch job beside its output: a manifest of the arguments it runs with,
 * and one file per finished chunk, each written to a temporary name, flushed and renamed, so a
 * chunk file is either whole or absent whatever moment the process dies at. A rerun reads the
 * manifest, refuses when an argument differs, and scores only the chunks that are absent.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { failedPrecondition } from '../../core/errors.js';
import type { OutputColumn } from './encode.js';

/** What makes two runs the same job; a resume must match every field. */
export interface JobArguments {
  deployment: string;
  input: string;
  /** Size and modification time of the input, so a changed file is not resumed. */
  inputBytes: number;
  inputMtimeMs: number;
  output: string;
  keep: string[];
  chunkRows: number;
  /** The model that scores: name, version and content hash. */
  model: string;
}

interface Manifest {
  arguments: JobArguments;
  /** The output's columns, fixed by the first chunk scored. */
  layout?: OutputColumn[];
}

const LABELS: Record<keyof JobArguments, string> = {
  deployment: 'the deployment name',
  input: '--input',
  inputBytes: '--input (the file changed since the interrupted run)',
  inputMtimeMs: '--input (the file changed since the interrupted run)',
  output: '--output',
  keep: '--keep',
  chunkRows: '--batch-size',
  model: 'the model (the deployment now serves another version)',
};

/** Writes `path` whole or not at all: its bytes are on disk before the rename shows it. */
async function writeWhole(path: string, text: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

async function writeDurably(path: string, text: string | Uint8Array): Promise<void> {
  await writeWhole(path, text);
  await syncDir(dirname(path));
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The work folder of the job writing `output`: hidden, beside it, so renames stay on one file system. */
export function workDirOf(output: string): string {
  return join(dirname(output), `.${basename(output)}.modelport-job`);
}

const PART = /^part-(\d{6})\.txt$/;

export class JobParts {
  private manifest: Manifest;
  private layoutSaved: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    manifest: Manifest,
    private readonly finished: Set<number>,
  ) {
    this.manifest = manifest;
  }

  /** Chunk indexes already finished by an earlier run. */
  get done(): ReadonlySet<number> {
    return this.finished;
  }

  /** Opens the job's state, starting it when absent; refuses a resume whose arguments differ. */
  static async open(dir: string, args: JobArguments): Promise<JobParts> {
    const path = join(dir, 'job.json');
    if (existsSync(path)) {
      const manifest = JSON.parse(await readFile(path, 'utf8')) as Manifest;
      const before = manifest.arguments;
      const differs = (Object.keys(LABELS) as (keyof JobArguments)[]).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(args[k]));
      if (differs.length > 0) {
        const what = [...new Set(differs.map((k) => `${LABELS[k]}: was ${JSON.stringify(before[k])}, now ${JSON.stringify(args[k])}`))];
        throw failedPrecondition(
          `an interrupted run of this job in ${dir} used other arguments (${what.join('; ')}); rerun it with the same arguments to resume, or delete that folder to start over`,
        );
      }
      const done = new Set<number>();
      for (const name of await readdir(dir)) {
        const m = PART.exec(name);
        if (m) done.add(Number(m[1]));
        else if (name.endsWith('.tmp')) await rm(join(dir, name), { force: true });
      }
      return new JobParts(dir, manifest, done);
    }
    await mkdir(dir, { recursive: true });
    const manifest: Manifest = { arguments: args };
    await writeDurably(path, JSON.stringify(manifest, null, 2));
    return new JobParts(dir, manifest, new Set());
  }

  get layout(): OutputColumn[] | undefined {
    return this.manifest.layout;
  }

  /** Records the output's columns once; every later chunk must produce the same ones. */
  async fixLayout(layout: OutputColumn[]): Promise<void> {
    if (!this.manifest.layout) {
      this.manifest = { ...this.manifest, layout };
      this.layoutSaved = writeDurably(join(this.dir, 'job.json'), JSON.stringify(this.manifest, null, 2));
    } else if (JSON.stringify(this.manifest.layout) !== JSON.stringify(layout)) {
      throw failedPrecondition(
        `the model's outputs changed shape between chunks (${this.manifest.layout.map((c) => c.name).join(', ')} before, ${layout.map((c) => c.name).join(', ')} now)`,
      );
    }
    await this.layoutSaved;
  }

  partPath(index: number): string {
    return join(this.dir, `part-${String(index).padStart(6, '0')}.txt`);
  }

  /**
   * Commits one chunk's output: whole or not at all. The folder is not flushed after the rename: a
   * crash that undoes it leaves the chunk absent, to be scored again, and a second fsync per chunk
   * held one of libuv's four threads that DuckDB's fetches wait for.
   */
  async commit(index: number, bytes: Uint8Array): Promise<void> {
    await writeWhole(this.partPath(index), bytes);
  }

  /** Takes chunk `index` as another run of this job committed it elsewhere (another replica's disk). */
  async adopt(index: number, text: Uint8Array): Promise<void> {
    if (this.finished.has(index)) return;
    await writeDurably(this.partPath(index), text);
    this.finished.add(index);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
