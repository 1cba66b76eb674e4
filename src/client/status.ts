import type { ErrorCode } from '../core/errors.js';

/** HTTP statuses back to error codes, for errors the SDK receives. */
export const HTTP_CODE: Record<number, ErrorCode> = {
  400: 'InvalidArgument',
  401: 'Unauthenticated',
  403: 'PermissionDenied',
  404: 'NotFound',
  409: 'AlreadyExists',
  412: 'FailedPrecondition',
  413: 'InvalidArgument',
  415: 'InvalidArgument',
  429: 'ResourceExhausted',
  500: 'Internal',
  503: 'Unavailable',
};
