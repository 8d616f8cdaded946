import { Elysia, t } from 'elysia';
import { errors } from '../../http/models.ts';
import type { Metrics } from './metrics.ts';

export function metricsRoutes(metrics: Metrics) {
  return new Elysia({ tags: ['Operations'] }).get(
    '/metrics',
    async ({ set }) => {
      set.headers['content-type'] = metrics.registry.contentType;
      return metrics.registry.metrics();
    },
    {
      response: { 200: t.String({ description: 'Prometheus text exposition' }), ...errors(401, 403) },
      detail: {
        summary: 'Prometheus metrics',
        description:
          'HTTP durations by route and status, orders by status, intake rate, mailbox depth and batch sizes, payment outcomes and latency, job runs and what they did, warehouse sync results, process metrics.',
      },
    },
  );
}
