/** Serving defines what it hands over for every answered request; monitoring consumes it. */
import type { PredictionRecord, PredictionTap } from '../../serving/index.js';

export type { PredictionRecord };

/**
 * Serving calls `record` on its hot path. It is synchronous, never throws and never waits:
 * it samples and enqueues, and a background flusher writes batches to the store.
 */
export type PredictionSink = PredictionTap;

/** One logged row as read back. */
export interface LoggedPrediction {
  requestId: string;
  row: number;
  deployment: string;
  model: string;
  version: number;
  variant: string;
  /** The key the variant was chosen by: the user id, the routing input field's value, else the request id (absent on rows logged before keys were). */
  key?: string;
  timeMs: number;
  latencyMs: number;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

export interface PredictionLogOptions {
  /** Share of requests logged, 0..1 (default 1); per-deployment rates override it. */
  sampleRate?: number;
  /**
   * Requests per deployment kept in memory for live views, at least (default 100): the batch
   * being packed and the sealed batches that hold the newest of them, in packed form. (Keeping
   * the requests' own objects instead kept them alive past the young generation, which cost
   * serving a measurable share of its collections.)
   */
  ringSize?: number;
  /** Requests waiting to be written at most; beyond that new ones are dropped and counted (default 100 000). */
  maxQueue?: number;
  /** Rows per write batch (default 500). */
  batchRows?: number;
  /** Background flush period in real milliseconds (default 250): how long a quiet request waits in memory. */
  flushIntervalMs?: number;
  /** Logged rows older than this are deleted (default 30 days; 0 keeps them forever). */
  retentionMs?: number;
  /** Master keys (a key file and/or a base64 key) segments are sealed under; without, they are stored as encoded. */
  masterKeys?: { file?: string; key?: string };
  /** How often the retention sweep runs (default 1 hour). */
  pruneIntervalMs?: number;
  /**
   * 'thread' (default when the store can be reopened by URI): rows are built and inserted by a
   * writer thread; 'inline': by the serving thread between requests.
   */
  writer?: 'thread' | 'inline';
  /** Random source for sampling (tests pass a seeded one). */
  random?: () => number;
}

export interface PredictionLogStats {
  /** Requests offered to record(). */
  offered: number;
  /** Requests taken by sampling. */
  sampled: number;
  /** Requests dropped because the write queue was full. */
  dropped: number;
  /** Rows written to the store. */
  written: number;
  /** Requests waiting to be written. */
  queued: number;
  /** Write failures (the batch is retried on the next flush). */
  writeErrors: number;
  lastError?: string;
}
