/**
 * The narrow port serving needs from the model registry: resolve a model by version or alias
 * to files on local disk, hear about alias moves, and keep versions in use from deletion.
 */
import { notFound } from '../core/errors.js';

export interface ModelRef {
  version?: number;
  alias?: string;
}

export interface ResolvedModel {
  model: string;
  version: number;
  /** Identifies the artifact's content; a cache key part and a cheap "did it change" check. */
  sha256: string;
  /** The flavor recorded at registration, if any (else it is detected from the files). */
  flavor?: string;
  /** Local path (file or folder) of the model's files, fetched on first call. */
  materialize(): Promise<string>;
}

export interface AliasMove {
  model: string;
  alias: string;
  /** The version the alias now names; undefined when it was deleted. */
  version?: number;
}

export interface ModelSource {
  resolve(model: string, ref: ModelRef): Promise<ResolvedModel>;
  /** Calls `listener` when an alias moves in this process; returns an unsubscribe function. */
  onAliasMoved(listener: (move: AliasMove) => void): () => void;
  /**
   * Registers a check run before a version is deleted: it returns a reason to refuse
   * (e.g. "served by deployment fraud") or undefined to allow.
   */
  addDeletionGuard(guard: (model: string, version: number) => Promise<string | undefined>): void;
}

export function describeRef(model: string, ref: ModelRef): string {
  return ref.alias !== undefined ? `${model}@${ref.alias}` : `${model} version ${ref.version}`;
}

/**
 * A ModelSource over models held in memory: versions are paths on disk. For tests, embedding
 * applications, and the time before a registry is configured.
 */
export class StaticModelSource implements ModelSource {
  private readonly versions = new Map<string, Map<number, { path: string; sha256: string; flavor?: string }>>();
  private readonly aliases = new Map<string, Map<string, number>>();
  private readonly listeners = new Set<(move: AliasMove) => void>();
  readonly guards: ((model: string, version: number) => Promise<string | undefined>)[] = [];

  addVersion(model: string, version: number, path: string, options: { sha256?: string; flavor?: string } = {}): this {
    if (!this.versions.has(model)) this.versions.set(model, new Map());
    this.versions.get(model)!.set(version, { path, sha256: options.sha256 ?? `${model}:${version}:${path}`, flavor: options.flavor });
    return this;
  }

  setAlias(model: string, alias: string, version: number | undefined): void {
    if (!this.aliases.has(model)) this.aliases.set(model, new Map());
    if (version === undefined) this.aliases.get(model)!.delete(alias);
    else this.aliases.get(model)!.set(alias, version);
    for (const listener of this.listeners) listener({ model, alias, version });
  }

  /** Deletes a version unless a guard refuses; returns the refusal. */
  async deleteVersion(model: string, version: number): Promise<string | undefined> {
    for (const guard of this.guards) {
      const reason = await guard(model, version);
      if (reason) return reason;
    }
    this.versions.get(model)?.delete(version);
    return undefined;
  }

  async resolve(model: string, ref: ModelRef): Promise<ResolvedModel> {
    const versions = this.versions.get(model);
    if (!versions) throw notFound(`registered model "${model}" does not exist`);
    let version = ref.version;
    if (ref.alias !== undefined) {
      version = this.aliases.get(model)?.get(ref.alias);
      if (version === undefined) throw notFound(`model "${model}" has no alias "${ref.alias}"`);
    }
    const entry = version === undefined ? undefined : versions.get(version);
    if (!entry || version === undefined) throw notFound(`model "${model}" has no version ${version}`);
    return { model, version, sha256: entry.sha256, flavor: entry.flavor, materialize: async () => entry.path };
  }

  onAliasMoved(listener: (move: AliasMove) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  addDeletionGuard(guard: (model: string, version: number) => Promise<string | undefined>): void {
    this.guards.push(guard);
  }
}
