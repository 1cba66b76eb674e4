/**
 * MLflow's error body `{error_code, message}` with MLflow's statuses, for every route under the
 * MLflow prefixes. A domain may name the exact MLflow code in `details.mlflowCode`.
 */
import type { FastifyInstance } from 'fastify';
import type { ErrorCode } from '../../core/errors.js';
import { addErrorFormat } from '../errors.js';

const MLFLOW: Record<ErrorCode, { code: string; status: number }> = {
  InvalidArgument: { code: 'INVALID_PARAMETER_VALUE', status: 400 },
  // MLflow answers a taken name with 400, not 409; its clients depend on it.
  AlreadyExists: { code: 'RESOURCE_ALREADY_EXISTS', status: 400 },
  NotFound: { code: 'RESOURCE_DOES_NOT_EXIST', status: 404 },
  FailedPrecondition: { code: 'FAILED_PRECONDITION', status: 400 },
  Unauthenticated: { code: 'UNAUTHENTICATED', status: 401 },
  PermissionDenied: { code: 'PERMISSION_DENIED', status: 403 },
  ResourceExhausted: { code: 'RESOURCE_EXHAUSTED', status: 429 },
  Unavailable: { code: 'TEMPORARILY_UNAVAILABLE', status: 503 },
  Internal: { code: 'INTERNAL_ERROR', status: 500 },
};

export const MLFLOW_PREFIXES = ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow'];

export function installMlflowErrors(app: FastifyInstance): void {
  // The UI's download route sits outside the API prefixes but is MLflow's too.
  for (const prefix of [...MLFLOW_PREFIXES, '/get-artifact']) {
    addErrorFormat(app, {
      prefix,
      format(err, status) {
        const mapped = MLFLOW[err.code];
        const code = typeof err.details.mlflowCode === 'string' ? err.details.mlflowCode : mapped.code;
        // Statuses the transport itself decided (413 body too large, 415 media type) stay.
        const finalStatus = status === 413 || status === 415 ? status : mapped.status;
        return { status: finalStatus, body: { error_code: code, message: err.message } };
      },
    });
  }
}
