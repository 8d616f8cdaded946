import { Elysia } from 'elysia';
import { DeadlineQueue } from '../lib/deadline-queue.ts';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../modules/metrics/metrics.ts';
import { requestIdOf } from './base.ts';
import { problem, problemResponse } from './errors.ts';

const SYNC_PATH = '/api/v1/warehouse/sync';
const ORDERS_PATH = '/api/v1/orders';
/** Label values come from a fixed set: a client inventing methods must not invent series. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export type AroundOptions = { requestTimeoutMs: number; syncRequestTimeoutMs: number; logger: Logger; metrics: Metrics };

/**
 * One wrap around every request, whatever answers it (a handler, an error, the HTTP shell before
 * routing):
 * - its deadline: past it, a 503 problem with `Retry-After`, while the work goes on in the
 *   background (what it waits for, usually the database, has bounds of its own). For
 *   `POST /api/v1/orders` that means "outcome unknown": the order may have been stored, and a retry
 *   with the same Idempotency-Key is always safe (API.md);
 * - its observation: the duration into the histogram, and one access-log line with the request id
 *   (at `debug` for successes).
 * A wrap rather than an after-response hook, which Elysia runs from a `setImmediate` of its own.
 */
export function around(options: AroundOptions) {
  const normal = new DeadlineQueue(options.requestTimeoutMs);
  const sync = new DeadlineQueue(options.syncRequestTimeoutMs);
  // One series per (method, route, status), looked up once.
  const series = new Map<string, { observe(seconds: number): void }>();
  /** The route a request matched (none: 'unmatched'), noted once routing is done. */
  const routes = new WeakMap<Request, string>();

  const record = (request: Request, response: Response, started: number) => {
    const seconds = (performance.now() - started) / 1000;
    const status = response.status;
    const route = routes.get(request) ?? 'unmatched';
    const method = METHODS.has(request.method) ? request.method : 'OTHER';
    const key = `${method} ${status} ${route}`;
    let histogram = series.get(key);
    if (!histogram) series.set(key, (histogram = options.metrics.httpDuration.child({ method, route, status })));
    histogram.observe(seconds);
    const level = status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
    if (options.logger.isLevelEnabled(level)) {
      options.logger[level]({ requestId: response.headers.get('x-request-id'), method, route, status, ms: Math.round(seconds * 10_000) / 10 }, 'request');
    }
  };

  const late = (request: Request, ms: number) => {
    const path = new URL(request.url).pathname;
    options.logger.warn({ method: request.method, path, ms }, 'request passed its deadline: answered 503');
    const detail =
      request.method === 'POST' && path === ORDERS_PATH
        ? `the order could not be confirmed within ${ms} ms; it may have been stored: retry with the same Idempotency-Key`
        : `the request could not be served within ${ms} ms; retry shortly`;
    return problemResponse(problem(503, detail), { 'retry-after': '1', 'x-request-id': requestIdOf(request) });
  };

  return new Elysia({ name: 'around' })
    .onTransform({ as: 'global' }, ({ request, route }) => {
      routes.set(request, route);
    })
    .wrap((handle) => (request: Request, ...rest: unknown[]) => {
      const started = performance.now();
      const answer = (handle as unknown as (r: Request, ...a: unknown[]) => Response | Promise<Response>)(request, ...rest);
      if (answer instanceof Response) {
        record(request, answer, started);
        return answer;
      }
      const queue = request.method === 'POST' && request.url.includes(SYNC_PATH) ? sync : normal;
      return new Promise<Response>((resolve, reject) => {
        let settled = false;
        const deadline = queue.add(() => {
          settled = true;
          const response = late(request, queue.ms);
          record(request, response, started);
          resolve(response);
        });
        answer.then(
          (response) => {
            queue.remove(deadline);
            if (settled) return;
            record(request, response, started);
            resolve(response);
          },
          (error: unknown) => {
            queue.remove(deadline);
            if (!settled) reject(error);
          },
        );
      });
    });
}
