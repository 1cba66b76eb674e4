/**
 * The narrow port serving needs from the model registry: resolve a model by version or alias
 * to files on local disk, hear about alias moves, and keep versions in use from deletion.
 */
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
  /** Calls `listener` when a version is registered ready in this process; returns an unsubscribe function. */
  onVersionReady(listener: (model: string, version: number) => void): () => void;
  /** Fetches a version's files to local disk ahead of a load (nothing to do when they are there). */
  prefetch(model: string, version: number): Promise<void>;
  /**
   * Registers a check run before a version is deleted: it returns a reason to refuse
   * (e.g. "served by deployment fraud") or undefined to allow.
   */
  addDeletionGuard(guard: (model: string, version: number) => Promise<string | undefined>): void;
}

export function describeRef(model: string, ref: ModelRef): string {
  return ref.alias !== undefined ? `${model}@${ref.alias}` : `${model} version ${ref.version}`;
}
