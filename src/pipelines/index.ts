/** Pipelines: definitions, the local and queued executors, built-in steps, schedules and triggers. */
export { definePipeline, normalizePipeline, parseDuration, parseResources, type PipelineSpec, type StepSpec, type Pipeline, type Step, type ParamValue, type Resources } from './definition.js';
export type { StepContext, StepFunction, BuiltinStep, StepServices } from './context.js';
export { StepRegistry, defaultSteps } from './builtins.js';
export { PipelinesService, type RunView, type StepView, type PipelineView, type StartRunInput } from './service.js';
export { pipelineMigrations } from './tables.js';
export { loadPipelineFile, parsePipelineText } from './yaml.js';
export { runGate, formatGateReport, type GateReport, type GateOptions } from './gate.js';
