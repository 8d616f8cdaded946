import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { serveOptions } from '../src/http/server.ts';
import { rawRequest } from './support/raw-http.ts';
import { startTestService, tokens, type TestService } from './support/service.ts';

/**
 * What a client gets over a real socket, with the serve options main.ts uses: our problem+json
 * wherever app code can answer, and (asserted so the README stays true) Bun's own bare answers
 * where it replies before any of our code runs.
 */
let t: TestService;
let port: number;
beforeAll(async () => {
  t = await startTestService({ BODY_READ_TIMEOUT_MS: '500' });
  port = t.service.app.listen(serveOptions({ port: 0, host: '127.0.0.1' })).server!.port!;
});
afterAll(async () => {
  await t.service.app.server?.stop(true);
  await t.close();
});

const auth = `Authorization: Bearer ${tokens.admin}\r\n`;
const post = (headers: string, body = '') => `POST /api/v1/categories HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\n${headers}\r\n${body}`;

function expectProblem(reply: { status: number | null; headers: Record<string, string>; body: string }, status: number) {
  expect(reply.status).toBe(status);
  expect(reply.headers['content-type']).toBe('application/problem+json');
  expect(JSON.parse(reply.body)).toMatchObject({ type: 'about:blank', status, title: expect.any(String), detail: expect.any(String) });
}

describe('bodies over the limit: always our problem+json 413', () => {
  test('declared just over the limit, and far over it (where Bun would answer itself)', async () => {
    for (const length of [64 * 1024 + 1, 10 * 1024 * 1024, 2 ** 40]) {
      const reply = await rawRequest(port, post(`Content-Length: ${length}\r\n`, '{"name":'));
      expectProblem(reply, 413);
      expect(reply.headers.connection).toBe('close');
    }
  });

  test('chunked, without a Content-Length: cut off while it is read', async () => {
    const chunk = `{"name":"${'x'.repeat(200 * 1024)}`;
    const reply = await rawRequest(port, post('Transfer-Encoding: chunked\r\n', `${chunk.length.toString(16)}\r\n${chunk}\r\n`));
    expectProblem(reply, 413);
  });

  test('a GET or DELETE with an oversized body too', async () => {
    const reply = await rawRequest(port, `DELETE /api/v1/categories/01900000-0000-7000-8000-000000000000 HTTP/1.1\r\nHost: x\r\n${auth}Content-Length: 100000000\r\n\r\n`);
    expectProblem(reply, 413);
  });
});

test('a body promised and never sent: 408 within BODY_READ_TIMEOUT_MS, connection closed', async () => {
  const reply = await rawRequest(port, post('Content-Length: 100\r\n', '{"name":'), { timeoutMs: 5000 });
  expectProblem(reply, 408);
  expect(reply.headers.connection).toBe('close');
  expect(reply.ms).toBeGreaterThanOrEqual(450);
  expect(reply.ms).toBeLessThan(2000);
});

test('an unknown method that reaches the app is 404 problem+json', async () => {
  const reply = await rawRequest(port, `PROPFIND /api/v1/products HTTP/1.1\r\nHost: x\r\n\r\n`);
  expectProblem(reply, 404);
});

describe("Bun's own answers, before any app code (documented in the README)", () => {
  test('headers over 16 KiB: bare 431', async () => {
    const reply = await rawRequest(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(reply.status).toBe(431);
    expect(reply.body).toBe('');
  });

  test('a control character or NUL in a header: bare 400', async () => {
    for (const bad of ['\x01', '\x00']) {
      const reply = await rawRequest(port, `GET /health HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a${bad}b\r\n\r\n`);
      expect(reply.status).toBe(400);
      expect(reply.body).toBe('');
    }
  });

  test('a method Bun does not know: the connection is closed without an answer', async () => {
    const reply = await rawRequest(port, `FOO /health HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(reply.status).toBeNull();
    expect(reply.body).toBe('');
  });

  test('the server keeps serving after all of that', async () => {
    const reply = await rawRequest(port, `GET /health HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(reply.status).toBe(200);
  });
});
