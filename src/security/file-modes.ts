/**
 * The data folder holds models, datasets, predictions and secrets: what modelport creates there
 * is readable by its own user only (folders 0700, files 0600), whatever the shell's umask.
 */
import { isMainThread } from 'node:worker_threads';

export function restrictNewFiles(): void {
  // Worker threads share the process's umask and may not set it.
  if (isMainThread) process.umask(process.umask() | 0o077);
}
