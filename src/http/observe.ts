import { Elysia } from 'elysia';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../modules/metrics/metrics.ts';

/** Label values come from a fixed set: a client inventing methods must not invent series. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Around every request, whatever answered it (a handler, an error, the HTTP shell before routing,
 * a passed deadline): its duration into the histogram, and one access-log line carrying the
 * request id (at `debug` for successes). A wrap around the whole handler rather than an
 * after-response hook, which Elysia runs from a `setImmediate` of its own on every request.
 */
export function observe(logger: Logger, metrics: Metrics) {
  // One labelled child per (method, route, status), so a request costs a map lookup, not label hashing.
  const series = new Map<string, { observe(seconds: number): void }>();
  const histogramFor = (method: string, route: string, status: number) => {
    const key = `${method} ${status} ${route}`;
    let child = series.get(key);
    if (!child) {
      child = metrics.httpDuration.labels({ method, route, status });
      series.set(key, child);
    }
    return child;
  };
  /** The route a request matched (none: 'unmatched'), noted once routing is done. */
  const routes = new WeakMap<Request, string>();
  const record = (request: Request, response: Response, started: number) => {
    const seconds = (performance.now() - started) / 1000;
    const status = response.status;
    const route = routes.get(request) ?? 'unmatched';
    const method = METHODS.has(request.method) ? request.method : 'OTHER';
    histogramFor(method, route, status).observe(seconds);
    const level = status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
    if (logger.isLevelEnabled(level)) {
      logger[level]({ requestId: response.headers.get('x-request-id'), method, route, status, ms: Math.round(seconds * 10_000) / 10 }, 'request');
    }
  };
  return new Elysia({ name: 'observe' })
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
      return answer.then((response) => {
        record(request, response, started);
        return response;
      });
    });
}
