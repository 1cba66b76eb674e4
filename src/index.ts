export { loadConfig, type Config, type ConfigFlags } from './config.js';
export { createPlatform, type Platform } from './platform.js';
export { buildApp } from './server/app.js';
export { startServer, type RunningServer } from './server/serve.js';
export { ModelportError, type ErrorCode } from './core/errors.js';
export { systemClock, ManualClock, type Clock } from './core/clock.js';
export * from './client/index.js';
export * from './models/index.js';
export { definePipeline, loadPipelineFile, type PipelineSpec, type StepSpec, type StepContext, type StepFunction, type BuiltinStep } from './pipelines/index.js';
