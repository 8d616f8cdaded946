import { Elysia } from 'elysia';
import type { Logger } from 'pino';
import { DeadlineQueue } from '../lib/deadline-queue.ts';
import { problem, problemResponse } from './errors.ts';

const SYNC_PATH = '/api/v1/warehouse/sync';
const ORDERS_PATH = '/api/v1/orders';

/**
 * Every request is answered within its deadline: past it, a 503 problem with `Retry-After`, while
 * the work goes on in the background (what it was waiting for, usually the database, has bounds
 * of its own). For `POST /api/v1/orders` that means "outcome unknown": the order may have been
 * stored, and a retry with the same Idempotency-Key is always safe (API.md).
 */
export function deadlines(options: { requestTimeoutMs: number; syncRequestTimeoutMs: number; logger: Logger }) {
  const normal = new DeadlineQueue(options.requestTimeoutMs);
  const sync = new DeadlineQueue(options.syncRequestTimeoutMs);
  return new Elysia({ name: 'deadlines' }).wrap(
    (handle) =>
      (request: Request, ...rest: unknown[]) => {
        const answer = (handle as unknown as (r: Request, ...a: unknown[]) => Response | Promise<Response>)(request, ...rest);
        if (answer instanceof Response) return answer;
        const url = request.url;
        const path = url.slice(url.indexOf('/', url.indexOf('//') + 2)).split('?')[0]!;
        const queue = path === SYNC_PATH ? sync : normal;
        return new Promise<Response>((resolve, reject) => {
          const deadline = queue.add(() => {
            options.logger.warn({ method: request.method, path, ms: queue.ms }, 'request passed its deadline: answered 503');
            const unknown = request.method === 'POST' && path === ORDERS_PATH;
            const detail = unknown
              ? `the order could not be confirmed within ${queue.ms} ms; it may have been stored: retry with the same Idempotency-Key`
              : `the request could not be served within ${queue.ms} ms; retry shortly`;
            resolve(problemResponse(problem(503, detail), { 'retry-after': '1', 'x-request-id': request.headers.get('x-request-id') ?? Bun.randomUUIDv7() }));
          });
          answer.then(
            (response) => {
              queue.remove(deadline);
              resolve(response);
            },
            (error: unknown) => {
              queue.remove(deadline);
              reject(error);
            },
          );
        });
      },
  );
}
