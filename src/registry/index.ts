/** The model registry's public API. */
export { RegistryService, createRegistryService, UPLOAD_SOURCE_SCHEME } from './service.js';
export type { RegistryStores, RegistryOptions, SearchQuery, CreateVersionInput } from './service.js';
export { registryMigrations } from './migrations.js';
export { RegistryEvents, REGISTRY_EVENTS } from './events.js';
export type { RegistryEventMap, RegistryEventName, RegistryEvent } from './events.js';
export { WEBHOOK_TEST_EVENT } from './webhooks.js';
export { signWebhookPayload, isInternalAddress } from '../core/webhook-security.js';
export type { WebhookInput, WebhookOptions } from './webhooks.js';
export type { PolicyInput } from './approvals.js';
export { STAGES, LOGGED_MODEL_URI, type Stage } from './names.js';
export { MODELPORT_FLAVORS, type Manifest, type ManifestFile } from './artifact.js';
export type * from './types.js';
export { trackingPorts, trackingRunLookup, trackingArtifactSource } from './tracking-ports.js';
