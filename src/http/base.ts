import { Elysia, ValidationError } from 'elysia';
import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../db/client.ts';
import { problem, problemResponse, statusOf, type Problem } from './errors.ts';
import { AppError, toError } from '../lib/errors.ts';
import { DeadlineQueue } from '../lib/deadline-queue.ts';
import { checkText, decodeBody, readBody } from './input.ts';
import { fieldErrors } from './validation.ts';

export type HttpOptions = { bodyLimitBytes: number; bodyReadTimeoutMs: number; logger: Logger };

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,200}$/;
const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

function problemFor(code: string | number, error: unknown, logger: Logger): Problem {
  if (error instanceof AppError) {
    const more: Partial<Problem> = {};
    if (error.errors) more.errors = error.errors;
    for (const [key, value] of Object.entries(error.extra ?? {})) if (key !== 'wwwAuthenticate') more[key] = value;
    return problem(statusOf(error), error.message, more);
  }
  if (error instanceof ValidationError) {
    if (error.type === 'response') {
      logger.error({ err: error }, 'response failed its own schema');
      return problem(500, 'the server produced an invalid response');
    }
    const errors = fieldErrors(error);
    return problem(422, `request ${error.type} is invalid: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, { errors });
  }
  if (code === 'PARSE') return problem(400, 'the body is not valid JSON');
  if (code === 'NOT_FOUND') return problem(404, 'no such endpoint');
  if (typeof code === 'number' && code >= 400 && code < 500) return problem(code, toError(error).message);
  if (isDatabaseUnavailable(error)) {
    logger.warn({ err: toError(error) }, 'database unavailable');
    return problem(503, 'the database is unavailable or too slow right now; retry shortly', { retryAfterSeconds: 1 });
  }
  logger.error({ err: toError(error) }, 'unhandled error');
  return problem(500, 'an unexpected error occurred; it has been logged');
}

/** A refused body may still be arriving: the connection is not reused, so its rest is never read as a request. */
const CLOSES_CONNECTION = new Set([408, 413]);

const requestIds = new WeakMap<Request, string>();

/** The id of a request: the caller's `X-Request-Id` when it is a well-formed one, else a new one; the same every time it is asked. */
export function requestIdOf(request: Request): string {
  let id = requestIds.get(request);
  if (id === undefined) {
    const incoming = request.headers.get('x-request-id');
    id = incoming && REQUEST_ID.test(incoming) ? incoming : Bun.randomUUIDv7();
    requestIds.set(request, id);
  }
  return id;
}

/**
 * The HTTP shell shared by every module: request ids, body rules (JSON only, size and time limits,
 * the text rules of input.ts), and one place where every error becomes RFC 9457 problem+json.
 */
export function httpBase(options: HttpOptions) {
  const bodyDeadlines = new DeadlineQueue(options.bodyReadTimeoutMs);
  /** Bodies whose text had no `\u` escape: no string in them can hold what `checkText` looks for. */
  const plainBodies = new WeakSet<Request>();
  return new Elysia({ name: 'http-base' })
    .onRequest(({ request, set }) => {
      set.headers['x-request-id'] = requestIdOf(request);
      // Any method: Bun's own cap sits out of reach (see server.ts), so every oversized body is answered here.
      const length = request.headers.get('content-length');
      if (length !== null && Number(length) > options.bodyLimitBytes) {
        return problemResponse(problem(413, `the body is larger than the ${options.bodyLimitBytes}-byte limit`), {
          'x-request-id': String(set.headers['x-request-id']),
          connection: 'close',
        });
      }
      const method = request.method;
      if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') return;
      const type = request.headers.get('content-type');
      if ((length !== null && length !== '0') || request.body !== null) {
        if (type === null || !JSON_TYPE.test(type)) {
          return problemResponse(problem(400, 'the body must be JSON (Content-Type: application/json)'), {
            'x-request-id': String(set.headers['x-request-id']),
          });
        }
      }
    })
    .onParse({ as: 'global' }, async ({ request }) => {
      const { value, escaped } = decodeBody(await readBody(request, { limitBytes: options.bodyLimitBytes, deadlines: bodyDeadlines }));
      if (!escaped) plainBodies.add(request);
      return value;
    })
    // After authentication and the schemas, before any handler: text PostgreSQL would refuse or alter.
    .onBeforeHandle({ as: 'global' }, ({ body, query, params, request }) =>
      checkText({ body: plainBodies.has(request) ? undefined : body, query, params }, request.url),
    )
    .onError({ as: 'global' }, ({ code, error, set }) => {
      const cause = code === 'PARSE' && error instanceof Error && error.cause instanceof AppError ? error.cause : error;
      const requestId = set.headers['x-request-id'];
      const body = problemFor(code, cause, options.logger.child({ requestId }));
      const headers: Record<string, string> = {};
      if (requestId) headers['x-request-id'] = String(requestId);
      if (body.status === 401) headers['www-authenticate'] = 'Bearer';
      if (body.status === 429 || body.status === 503) headers['retry-after'] = String(body.retryAfterSeconds ?? 1);
      if (CLOSES_CONNECTION.has(body.status)) headers.connection = 'close';
      return problemResponse(body, headers);
    });
}
