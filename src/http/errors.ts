import type { AppError, ErrorCode, FieldError } from '../lib/errors.ts';

/** The HTTP status of each error code (the domain's errors, src/lib/errors.ts, know no HTTP). */
export const errorStatus: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  request_timeout: 408,
  conflict: 409,
  payload_too_large: 413,
  validation: 422,
  rate_limited: 429,
  unavailable: 503,
};

export const statusOf = (error: AppError) => errorStatus[error.code];

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldError[];
  [member: string]: unknown;
};

/** Sizes of what a problem document carries: an error never echoes a large value back, whatever the input. */
const MAX_DETAIL = 1000;
const MAX_FIELD_ERRORS = 20;
const MAX_FIELD_TEXT = 200;

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

export function problem(status: number, detail: string, more: Partial<Problem> = {}): Problem {
  const body: Problem = { type: 'about:blank', title: titles[status] ?? 'Error', status, detail: clip(detail, MAX_DETAIL), ...more };
  if (more.errors) {
    body.errors = more.errors.slice(0, MAX_FIELD_ERRORS).map((e) => ({ path: clip(e.path, MAX_FIELD_TEXT), message: clip(e.message, MAX_FIELD_TEXT) }));
  }
  return body;
}

export function problemResponse(body: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });
}
