export { FeaturesService } from './service.js';
export type { FeaturesDeps, FeatureSelection, HistoricalOptions, HistoricalFileResult, MaterializeOptions, PushOptions, ConsistencyReport, FreshnessEntry } from './service.js';
export { featureMigrations } from './tables.js';
export { defineFeatures, parseFeatureYaml, loadFeatureFile, type FeatureRepoInput, type OnDemandViewInput, type TransformRow } from './define.js';
export { FeatureRepo, outputNames, type FeatureRef } from './repo.js';
export { parseDuration } from './duration.js';
export { parseTimestamp } from './online.js';
export * from './types.js';
