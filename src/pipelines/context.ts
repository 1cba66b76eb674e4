/**
 * What a step's code sees: its parameters and options, its upstream steps' output folders, an
 * output folder of its own, a cancellation signal, and the platform's services for built-ins.
 */
import type { Clock } from '../core/clock.js';
import type { DatasetsService } from '../data/service.js';
import type { RegistryService } from '../registry/service.js';
import type { TrackingService } from '../tracking/service.js';
import type { ParamValue } from './definition.js';

/** The services built-in steps use; a worker process builds them over the same stores as the driver. */
export interface StepServices {
  clock: Clock;
  datasets: DatasetsService;
  registry: RegistryService;
  tracking: TrackingService;
  allowPrivateWebhookTargets: boolean;
}

export interface StepContext {
  runId: string;
  pipeline: string;
  step: string;
  /** The step's tracking run (the nested run under the pipeline's). */
  trackingRunId?: string;
  params: Record<string, ParamValue>;
  /** The step's options with `${params.X}` already replaced. */
  with: Record<string, unknown>;
  /** Upstream step name → a local folder holding that step's outputs. */
  inputs: Record<string, string>;
  /** Where the step leaves its outputs; all of it is stored and content-hashed. */
  outputDir: string;
  /** The pipeline's folder (a YAML file's folder), if it has one. */
  dir?: string;
  signal: AbortSignal;
  /** A line for the step's captured stdout. */
  log(line: string): void;
  services: StepServices;
}

export type StepFunction = (ctx: StepContext) => Promise<void> | void;

/** A built-in step: the files it writes (known before it runs, for validation) and its code. */
export interface BuiltinStep {
  description: string;
  outputs(options: Record<string, unknown>): string[];
  run(ctx: StepContext): Promise<void>;
}
