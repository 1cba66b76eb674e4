/** Request fields MLflow's handlers treat specially, with MLflow's messages. */
import { invalidArgument } from '../../core/errors.js';

/** MLflow still accepts the deprecated `run_uuid` wherever `run_id` is expected. */
export function runIdOf(input: { run_id?: string; run_uuid?: string }): string {
  return required(input.run_id || input.run_uuid, 'run_id');
}

export function required<T>(value: T | undefined | null | '', name: string): T {
  if (value === undefined || value === null || value === '') {
    throw invalidArgument(`Missing value for required parameter '${name}'. See the API docs for more information about request parameters.`);
  }
  return value;
}
