import { Elysia, t } from 'elysia';
import type { AccessGate } from '../../http/gate.ts';
import { errors } from '../../http/models.ts';
import { parseEventId, type EventHub, type StreamEvent } from './event-hub.ts';

const encoder = new TextEncoder();
const frame = (events: StreamEvent[]) =>
  encoder.encode(events.map((e) => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`).join(''));

export function eventsRoutes(hub: EventHub, gate: AccessGate) {
  return new Elysia({ prefix: '/api/v1/events', tags: ['Operations'] }).use(gate).get(
    '',
    async ({ headers, query, request, credential }) => {
      let unsubscribe: (() => void) | undefined;
      let keepAlive: ReturnType<typeof setInterval> | undefined;
      const lastEventId = headers['last-event-id'] ?? query.lastEventId;
      // A bad id is a 422 now, not a broken stream later.
      if (lastEventId) parseEventId(lastEventId, headers['last-event-id'] === undefined ? 'query.lastEventId' : 'headers.last-event-id');
      const stream = new ReadableStream<Uint8Array>({
        start: async (controller) => {
          const send = (bytes: Uint8Array) => {
            try {
              controller.enqueue(bytes);
            } catch {
              cleanup();
            }
          };
          const cleanup = () => {
            unsubscribe?.();
            clearInterval(keepAlive);
          };
          const end = () => {
            cleanup();
            try {
              controller.close();
            } catch {
              // already closed
            }
          };
          send(encoder.encode('retry: 2000\n\n'));
          keepAlive = setInterval(() => send(encoder.encode(': keep-alive\n\n')), 15_000);
          // A customer token's stream carries its own customer's orders only.
          unsubscribe = await hub.subscribe(lastEventId, (events) => send(frame(events)), end, { customerId: credential?.customerId });
          request.signal.addEventListener('abort', end);
        },
        cancel: () => {
          unsubscribe?.();
          clearInterval(keepAlive);
        },
      });
      return new Response(stream, {
        headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' },
      });
    },
    {
      headers: t.Object({ 'last-event-id': t.Optional(t.String({ maxLength: 64 })) }),
      query: t.Object({ lastEventId: t.Optional(t.String({ maxLength: 64, description: 'Same as the Last-Event-ID header' })) }),
      response: {
        200: t.String({
          description: 'text/event-stream: `order.status`, `order.fulfilment.created`, `order.returned`, `inventory.changed`, `transfer.received` and `warehouse.sync.completed` events',
        }),
        ...errors(401, 403, 422),
      },
      detail: {
        summary: 'Stream of order and inventory changes (Server-Sent Events)',
        description:
          'One event per order status change (and failed attempt), per fulfilment and return of an order (the order with the document beside it: `fulfilment`, `return`), per inventory change (naming the locations that changed in `locationIds`) and per transfer receipt, each with an `id`. With a customer token: only that customer\'s orders (and inventory changes). Reconnect with `Last-Event-ID` (or `?lastEventId=`) to resume right after that event; without it the stream starts now.',
      },
    },
  );
}
