/**
 * The service's one error type, its vocabulary for what went wrong. Services, actors and query
 * code throw `AppError(code)`; the HTTP layer (src/http/errors.ts) maps each code to a status and
 * renders RFC 9457 problem details. Nothing here knows HTTP.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'request_timeout'
  | 'conflict'
  | 'payload_too_large'
  | 'validation'
  | 'rate_limited'
  | 'unavailable';

export type FieldError = { path: string; message: string };

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly errors?: FieldError[],
    /** Extra members for the problem document (e.g. `retryAfterSeconds`). */
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new AppError('not_found', `${what} was not found`);
export const conflict = (message: string, extra?: Record<string, unknown>) => new AppError('conflict', message, undefined, extra);
export const invalid = (path: string, message: string) => new AppError('validation', `${path} ${message}`, [{ path, message }]);

/** Every `catch` gets an Error, whatever was thrown. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(typeof value === 'string' ? value : JSON.stringify(value));
}
