/** The ModelSource port over the model registry's public API. */
import { failedPrecondition } from '../core/errors.js';
import type { RegistryService } from '../registry/index.js';
import type { AliasMove, ModelRef, ModelSource, ResolvedModel } from './source.js';

export function registryModelSource(registry: RegistryService): ModelSource {
  return {
    async resolve(model: string, ref: ModelRef): Promise<ResolvedModel> {
      const v = await registry.resolveVersion(model, ref.alias !== undefined ? `@${ref.alias}` : (ref.version ?? 'latest'));
      if (v.status !== 'READY') throw failedPrecondition(`model "${model}" version ${v.version} is not ready (${v.status}${v.statusMessage ? `: ${v.statusMessage}` : ''})`);
      return {
        model,
        version: v.version,
        sha256: v.sha256 ?? `${model}/${v.version}`,
        flavor: v.flavor,
        materialize: async () => (v.sha256 && registry.cachedCopy(v.sha256)) || (await registry.materialize(model, v.version)).path,
      };
    },
    onAliasMoved(listener: (move: AliasMove) => void): () => void {
      const offSet = registry.events.on('model_version.alias_set', (e) => listener({ model: e.name, alias: e.alias, version: e.version }));
      const offDeleted = registry.events.on('model_version.alias_deleted', (e) => listener({ model: e.name, alias: e.alias }));
      return () => {
        offSet();
        offDeleted();
      };
    },
    onVersionReady(listener: (model: string, version: number) => void): () => void {
      return registry.events.on('model_version.created', (e) => {
        if (e.status === 'READY') listener(e.name, e.version);
      });
    },
    async prefetch(model: string, version: number): Promise<void> {
      await registry.materialize(model, version);
    },
    addDeletionGuard(guard: (model: string, version: number) => Promise<string | undefined>): void {
      registry.addDeletionGuard(({ name, version }) => guard(name, version));
    },
  };
}
