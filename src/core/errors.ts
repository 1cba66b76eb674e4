/**
 * Errors are values with a code. Domains throw these; the server maps each code to an HTTP
 * status and to every protocol's error shape in one place (server/errors.ts), and the CLI
 * prints their message on one line.
 */
export type ErrorCode =
  | 'NotFound'
  | 'InvalidArgument'
  | 'AlreadyExists'
  | 'FailedPrecondition'
  | 'PermissionDenied'
  | 'Unauthenticated'
  | 'ResourceExhausted'
  | 'Unavailable'
  /** A fault of the server itself, never of the request; its details stay in the log. */
  | 'Internal';

export class ModelportError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra facts a protocol may need, e.g. the MLflow error_code or a Retry-After in seconds. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = code;
  }
}

export const notFound = (message: string, details?: Record<string, unknown>) =>
  new ModelportError('NotFound', message, details);
export const invalidArgument = (message: string, details?: Record<string, unknown>) =>
  new ModelportError('InvalidArgument', message, details);
export const alreadyExists = (message: string, details?: Record<string, unknown>) =>
  new ModelportError('AlreadyExists', message, details);
export const failedPrecondition = (message: string, details?: Record<string, unknown>) =>
  new ModelportError('FailedPrecondition', message, details);
export const permissionDenied = (message: string, details?: Record<string, unknown>) =>
  new ModelportError('PermissionDenied', message, details);
export const unauthenticated = (message: string, details?: Record<string, unknown>) =>
  new ModelportError('Unauthenticated', message, details);
export const resourceExhausted = (message: string, details?: Record<string, unknown>) =>
  new ModelportError('ResourceExhausted', message, details);
export const unavailable = (message: string, details?: Record<string, unknown>) =>
  new ModelportError('Unavailable', message, details);

export function isModelportError(err: unknown): err is ModelportError {
  return err instanceof ModelportError;
}
