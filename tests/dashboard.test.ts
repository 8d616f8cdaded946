import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { SseParser } from '../src/dashboard/client/sse.ts';
import { startTestService, type TestService } from './support/service.ts';

/** What the dashboard needs without a browser: its routes through `app.handle()`, and its SSE parser. */
let t: TestService;
beforeAll(async () => {
  t = await startTestService({}, { background: false });
});
afterAll(() => t.close());

const fetchApp = (path: string) => t.service.app.handle(new Request(`http://localhost${path}`));

describe('GET /dashboard', () => {
  test('serves the page, its script (bundled in memory) and its styles, all same-origin only', async () => {
    const page = await fetchApp('/dashboard');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/dashboard/app.js"></script>');
    expect(html).not.toMatch(/https?:\/\//);

    const script = await fetchApp('/dashboard/app.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const code = await script.text();
    expect(code).toContain('/api/v1/events');
    expect(code).not.toContain('elysia');
    expect(code.length).toBeLessThan(200_000);

    const styles = await fetchApp('/dashboard/app.css');
    expect(styles.status).toBe(200);
    expect(styles.headers.get('content-type')).toBe('text/css; charset=utf-8');
  }, 20_000);

  test('needs no token (the page asks for one) and stays out of the API docs', async () => {
    expect((await fetchApp('/dashboard/')).status).toBe(200);
    const spec = (await t.api.get('/swagger/json', 'anonymous')).body;
    expect(Object.keys(spec.paths).filter((p) => p.startsWith('/dashboard'))).toEqual([]);
  });
});

describe('SseParser', () => {
  test('parses events split across chunks anywhere, with any line ending', () => {
    const stream = 'retry: 2000\n\n: keep-alive\n\nid: 1-2-0\nevent: order.status\ndata: {"a":1}\n\nid: 1-2-1\r\nevent: inventory.changed\r\ndata: {"b":\r\ndata: 2}\r\n\r\n';
    for (const size of [1, 2, 3, 7, stream.length]) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < stream.length; i += size) events.push(...parser.push(stream.slice(i, i + size)));
      expect(events).toEqual([
        { id: '1-2-0', event: 'order.status', data: '{"a":1}' },
        { id: '1-2-1', event: 'inventory.changed', data: '{"b":\n2}' },
      ]);
      expect(parser.retryMs).toBe(2000);
    }
  });

  test('an event without data is not dispatched; the id carries over; a bare CR ends a line', () => {
    const parser = new SseParser();
    expect(parser.push('id: 7\n\n')).toEqual([]);
    expect(parser.push('data: x\rdata:y\r\r')).toEqual([{ id: '7', event: 'message', data: 'x\ny' }]);
  });
});
