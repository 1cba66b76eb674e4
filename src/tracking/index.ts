export { TrackingService, DEFAULT_EXPERIMENT_ID, decodePageToken, encodePageToken, type TrackingOptions, type MetricPoint } from './service.js';
export type { History } from './history.js';
export { ArtifactStore, type ArtifactEntry } from './artifacts.js';
export { trackingMigrations, type TrackingTables } from './schema.js';
export { parseFilter, parseOrderBy, RUNS, EXPERIMENTS, type Clause, type OrderBy } from './search.js';
export { LIMITS, checkArtifactPath } from './validation.js';
export * from './types.js';
export { artifactProxyRoot } from './uri.js';
export { downsampleHistory, lttbIndices } from './downsample.js';
