/**
 * Registry events, in-process: serving follows alias moves through these, and webhooks deliver
 * them to HTTP receivers. A listener's failure never fails the registry operation.
 */
import type { Approval } from './types.js';

export interface RegistryEventMap {
  'registered_model.created': { name: string; user?: string };
  'registered_model.renamed': { name: string; previousName: string; user?: string };
  'registered_model.deleted': { name: string; user?: string };
  'model_version.created': { name: string; version: number; source: string; runId?: string; flavor?: string; sha256?: string; status: string; user?: string };
  'model_version.deleted': { name: string; version: number; user?: string };
  'model_version.tag_set': { name: string; version: number; key: string; value: string; user?: string };
  'model_version.tag_deleted': { name: string; version: number; key: string; user?: string };
  /** An alias was created or moved; `previousVersion` is set when it moved. */
  'model_version.alias_set': { name: string; alias: string; version: number; previousVersion?: number; user?: string };
  'model_version.alias_deleted': { name: string; alias: string; version: number; user?: string };
  'model_version.stage_changed': { name: string; version: number; from: string; to: string; archived: number[]; user?: string };
  'approval.requested': Approval;
  'approval.decided': Approval;
}

export type RegistryEventName = keyof RegistryEventMap;
export const REGISTRY_EVENTS = [
  'registered_model.created',
  'registered_model.renamed',
  'registered_model.deleted',
  'model_version.created',
  'model_version.deleted',
  'model_version.tag_set',
  'model_version.tag_deleted',
  'model_version.alias_set',
  'model_version.alias_deleted',
  'model_version.stage_changed',
  'approval.requested',
  'approval.decided',
] as const satisfies readonly RegistryEventName[];

export type RegistryEvent = { [K in RegistryEventName]: { type: K; at: number; data: RegistryEventMap[K] } }[RegistryEventName];

type Listener<K extends RegistryEventName> = (data: RegistryEventMap[K], event: RegistryEvent) => void;

export class RegistryEvents {
  private readonly listeners = new Map<string, Set<(data: never, event: RegistryEvent) => void>>();
  private readonly any = new Set<(event: RegistryEvent) => void>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => undefined) {}

  /** Subscribes to one event; returns the unsubscribe function. */
  on<K extends RegistryEventName>(type: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener as never);
    return () => set!.delete(listener as never);
  }

  /** Subscribes to every event. */
  onAny(listener: (event: RegistryEvent) => void): () => void {
    this.any.add(listener);
    return () => this.any.delete(listener);
  }

  emit<K extends RegistryEventName>(type: K, data: RegistryEventMap[K], at: number): void {
    const event = { type, at, data } as RegistryEvent;
    for (const l of this.listeners.get(type) ?? []) this.safely(() => (l as Listener<K>)(data, event));
    for (const l of this.any) this.safely(() => l(event));
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.onListenerError(err);
    }
  }
}
