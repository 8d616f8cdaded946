import path from 'node:path';
import type { HttpCall, HttpReply, K6Report, RunRequest } from './protocol.ts';
import { REPLY_OFFSET } from './protocol.ts';

/**
 * Runs a k6 script under the shim: setup once, the default function `iterations` times (VUs taken
 * in turn), teardown, handleSummary (files written as k6 would). Its HTTP calls are real requests,
 * made here with fetch against whatever BASE_URL points to.
 */
export function runK6Script(script: string, options: { env: Record<string, string>; vus?: number; iterations?: number; timeoutMs?: number }): Promise<K6Report> {
  const worker = new Worker(new URL('./worker.ts', import.meta.url).href);
  const request: RunRequest = { script: path.resolve(script), env: options.env, vus: options.vus ?? 1, iterations: options.iterations ?? 1 };
  return new Promise<K6Report>((resolve, reject) => {
    const timer = setTimeout(() => {
      worker.terminate();
      reject(new Error(`k6 script ${script} did not finish in ${options.timeoutMs ?? 30_000} ms`));
    }, options.timeoutMs ?? 30_000);
    worker.onerror = (event) => {
      clearTimeout(timer);
      worker.terminate();
      reject(new Error(`k6 shim worker failed: ${event.message}`));
    };
    worker.onmessage = async (event: MessageEvent<HttpCall | { kind: 'done'; report: K6Report }>) => {
      const message = event.data;
      if (message.kind === 'done') {
        clearTimeout(timer);
        worker.terminate();
        resolve(message.report);
        return;
      }
      reply(message, await perform(message));
    };
    worker.postMessage(request);
  });
}

async function perform(call: HttpCall): Promise<HttpReply> {
  const started = performance.now();
  try {
    const response = await fetch(call.url, { method: call.method, headers: call.headers, body: call.body ?? undefined });
    const body = await response.text();
    return { status: response.status, headers: Object.fromEntries(response.headers), body, durationMs: performance.now() - started };
  } catch (error) {
    // k6 reports a transport error as status 0 with the error text.
    return { status: 0, headers: {}, body: '', durationMs: performance.now() - started, error: (error as Error).message };
  }
}

function reply(call: HttpCall, answer: HttpReply) {
  const bytes = new TextEncoder().encode(JSON.stringify(answer));
  if (bytes.length > call.buffer.byteLength - REPLY_OFFSET) throw new Error(`shim: reply of ${bytes.length} bytes does not fit the shared buffer`);
  new Uint8Array(call.buffer, REPLY_OFFSET, bytes.length).set(bytes);
  new Int32Array(call.buffer, 4, 1)[0] = bytes.length;
  const flag = new Int32Array(call.buffer, 0, 1);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}
