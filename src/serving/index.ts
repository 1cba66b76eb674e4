/** Online serving: deployments, dynamic batching, response cache, rate limits, protocol codecs. */
export { ServingService, mergeConfig } from './service.js';
export type { DeployInput, UpdateInput, VariantInput, ChangeInput, ServingOptions, Target } from './service.js';
export type { Revision, Change } from './store.js';
export { servingMigrations } from './migrations.js';
export { describeRef } from './source.js';
export type { ModelSource, ModelRef, ResolvedModel, AliasMove } from './source.js';
export { registryModelSource } from './registry-source.js';
export { DynamicBatcher } from './batcher.js';
export { ResponseCache, cacheKey } from './cache.js';
export { RateLimiter } from './rate-limit.js';
export { ServingMetrics } from './metrics.js';
export { bucketOf, inputKey } from './traffic.js';
export { decodeV2, encodeV2, isScalarRequest, v2Metadata, DTYPE_TO_V2, V2_TYPES } from './codecs/v2.js';
export { readV2Request, writeV2Response, type V2Answer } from './codecs/v2-wire.js';
export type { V2Request, V2Response, V2Tensor } from './codecs/v2.js';
export { decodeInvocation, decodeCsv, encodePredictions, parseCsv, type PredictionsShape } from './codecs/invocations.js';
export * from './types.js';

import type { Clock } from '../core/clock.js';
import type { RegistryService } from '../registry/index.js';
import type { MetadataStore } from '../storage/metadata.js';
import { registryModelSource } from './registry-source.js';
import { ServingService, type ServingOptions } from './service.js';

/** The serving service over the platform's stores and model registry. */
export function createServingService(
  stores: { metadata: MetadataStore; clock: Clock },
  registry: RegistryService,
  options: ServingOptions = { processMetrics: true },
): ServingService {
  return new ServingService(stores.metadata, registryModelSource(registry), stores.clock, options);
}
