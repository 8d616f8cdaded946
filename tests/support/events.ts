import { expect } from 'bun:test';
import { waitFor } from './wait.ts';

export type Received = { id: string; event: string; data: Record<string, unknown> };

/** Opens `GET /api/v1/events` with `token` (as a browser would, with fetch) and collects events until `until` says stop. */
export async function collectEvents(
  app: { handle(request: Request): Promise<Response> },
  token: string,
  until: (events: Received[]) => boolean,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<Received[]> {
  const controller = new AbortController();
  const response = await app.handle(new Request('http://localhost/api/v1/events', { headers: { authorization: `Bearer ${token}`, ...headers }, signal: controller.signal }));
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: Received[] = [];
  let buffer = '';
  const deadline = Date.now() + timeoutMs;
  try {
    while (!until(events)) {
      if (Date.now() > deadline) throw new Error(`stream timed out with ${events.length} events`);
      const chunk = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => ({ done: true, value: undefined }))]);
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value);
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = Object.fromEntries(frame.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
        if (fields.id && fields.data) events.push({ id: fields.id, event: fields.event ?? 'message', data: JSON.parse(fields.data) });
      }
    }
  } finally {
    controller.abort();
    await reader.cancel().catch(() => {});
  }
  return events;
}

/**
 * Waits until `hub` has more open streams than `before`: a stream opened without Last-Event-ID
 * starts at the position it took when it subscribed, so what a test writes after this is in it.
 */
export function streamOpened(hub: { size: number }, before: number): Promise<true> {
  return waitFor(() => hub.size > before, 5_000, 'the event stream to subscribe');
}
