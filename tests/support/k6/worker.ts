/// <reference lib="webworker" />
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { HttpReply, RunRequest, K6Report, RecordedRequest } from './protocol.ts';
import { REPLY_OFFSET, summaryData, type MetricSample } from './protocol.ts';

/**
 * Runs one k6 script inside a worker, with the k6 modules replaced by shims. k6's HTTP calls are
 * synchronous, so each one is handed to the main thread (which does the real fetch) and this
 * thread waits on a shared buffer until the answer is there.
 */
declare const self: Worker;

const run = await new Promise<RunRequest>((resolve) => (self.onmessage = (event: MessageEvent<RunRequest>) => resolve(event.data)));

const requests: RecordedRequest[] = [];
const checks = new Map<string, { passes: number; fails: number }>();
const samples: MetricSample[] = [];
const sleeps: number[] = [];
const groupStack: string[] = [];
let vu = 1;
let iteration = 0;
/** k6 tags what the default function does with its scenario's name; setup and teardown have none. */
let scenario: string | undefined;
let defaultCallback: ((status: number) => boolean) | null = null;

class AbortError extends Error {
  override name = 'K6Fail';
}

function groupPath(): string {
  return groupStack.length === 0 ? '' : `::${groupStack.join('::')}`;
}

function sample(metric: string, type: MetricSample['type'], value: number, tags: Record<string, string> = {}) {
  samples.push({ metric, type, value, tags: { group: groupPath(), ...(scenario ? { scenario } : {}), ...tags } });
}

/** k6 names response headers in canonical form ("Retry-After"). */
const canonical = (name: string) => name.split('-').map((p) => p.charAt(0).toUpperCase() + p.slice(1).toLowerCase()).join('-');

/** The subset of k6's gjson selectors the scripts use: dotted paths, array indexes, "#" for length. */
function select(value: unknown, selector?: string): unknown {
  if (selector === undefined) return value;
  let current: unknown = value;
  for (const part of selector.split('.')) {
    if (current === null || current === undefined) return undefined;
    if (part === '#' && Array.isArray(current)) return current.length;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

type Params = { headers?: Record<string, string>; tags?: Record<string, string>; responseCallback?: (status: number) => boolean };

function request(method: string, url: string, body?: string | null, params: Params = {}) {
  if (body !== undefined && body !== null && typeof body !== 'string') throw new Error('shim: only string bodies are supported');
  const buffer = new SharedArrayBuffer(8 * 1024 * 1024);
  const flag = new Int32Array(buffer, 0, 1);
  self.postMessage({ kind: 'http', buffer, method, url, body: body ?? null, headers: params.headers ?? {} });
  Atomics.wait(flag, 0, 0);
  const length = new Int32Array(buffer, 4, 1)[0]!;
  const reply = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, REPLY_OFFSET, length).slice())) as HttpReply;
  const headers = Object.fromEntries(Object.entries(reply.headers).map(([k, v]) => [canonical(k), v]));
  const expected = params.responseCallback ?? defaultCallback ?? ((status: number) => status >= 200 && status < 400);
  const tags = { name: params.tags?.name ?? url, method, status: String(reply.status), ...params.tags };
  requests.push({ method, url, status: reply.status, group: groupPath(), tags, durationMs: reply.durationMs, vu, iteration });
  sample('http_reqs', 'counter', 1, tags);
  sample('http_req_duration', 'trend', reply.durationMs, tags);
  sample('http_req_failed', 'rate', expected(reply.status) ? 0 : 1, tags);
  let parsed: unknown;
  return {
    status: reply.status,
    body: reply.body,
    headers,
    url,
    error: reply.error ?? '',
    timings: { duration: reply.durationMs, waiting: reply.durationMs },
    request: { method, url, body, headers: params.headers ?? {} },
    json(selector?: string) {
      parsed ??= JSON.parse(reply.body);
      return select(parsed, selector);
    },
  };
}

const expectedStatuses = (...statuses: (number | { min: number; max: number })[]) => (status: number) =>
  statuses.some((s) => (typeof s === 'number' ? s === status : status >= s.min && status <= s.max));

const httpModule = {
  request,
  get: (url: string, params?: Params) => request('GET', url, null, params),
  head: (url: string, params?: Params) => request('HEAD', url, null, params),
  del: (url: string, body?: string | null, params?: Params) => request('DELETE', url, body, params),
  post: (url: string, body?: string | null, params?: Params) => request('POST', url, body, params),
  put: (url: string, body?: string | null, params?: Params) => request('PUT', url, body, params),
  patch: (url: string, body?: string | null, params?: Params) => request('PATCH', url, body, params),
  batch: () => {
    throw new Error('shim: http.batch is not shimmed');
  },
  expectedStatuses,
  setResponseCallback: (callback: (status: number) => boolean) => (defaultCallback = callback),
};

const k6Module = {
  check(value: unknown, sets: Record<string, (value: unknown) => boolean>, tags: Record<string, string> = {}) {
    let all = true;
    for (const [name, predicate] of Object.entries(sets)) {
      let ok: boolean;
      try {
        ok = Boolean(predicate(value));
      } catch {
        ok = false; // k6 counts a check that throws as failed
      }
      const counts = checks.get(name) ?? { passes: 0, fails: 0 };
      counts[ok ? 'passes' : 'fails']++;
      checks.set(name, counts);
      sample('checks', 'rate', ok ? 1 : 0, { check: name, ...tags });
      all &&= ok;
    }
    return all;
  },
  group<T>(name: string, fn: () => T): T {
    groupStack.push(name);
    try {
      return fn();
    } finally {
      groupStack.pop();
    }
  },
  sleep(seconds: number) {
    // Think time in iterations is recorded, not waited out: these runs check logic, not pacing.
    // setup and teardown wait for real: there a sleep waits for the service (e.g. orders to settle).
    if (scenario) sleeps.push(seconds);
    else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
  },
  fail(message?: string): never {
    throw new AbortError(message ?? 'fail()');
  },
};

/** k6's own metrics exist (and may carry thresholds) even when nothing fed them, e.g. dropped_iterations. */
const declared = new Map<string, MetricSample['type']>([
  ['http_reqs', 'counter'],
  ['http_req_duration', 'trend'],
  ['http_req_failed', 'rate'],
  ['checks', 'rate'],
  ['iterations', 'counter'],
  ['dropped_iterations', 'counter'],
]);

function metricClass(type: MetricSample['type']) {
  return class {
    constructor(readonly name: string) {
      declared.set(name, type);
    }
    add(value: number | boolean, tags: Record<string, string> = {}) {
      sample(this.name, type, typeof value === 'boolean' ? (value ? 1 : 0) : value, tags);
    }
  };
}
const metricsModule = { Counter: metricClass('counter'), Gauge: metricClass('gauge'), Rate: metricClass('rate'), Trend: metricClass('trend') };

Bun.plugin({
  name: 'k6-shims',
  setup(build) {
    build.module('k6', () => ({ exports: { ...k6Module, default: k6Module }, loader: 'object' }));
    build.module('k6/http', () => ({ exports: { ...httpModule, default: httpModule }, loader: 'object' }));
    build.module('k6/metrics', () => ({ exports: { ...metricsModule, default: metricsModule }, loader: 'object' }));
  },
});

const globals = globalThis as Record<string, unknown>;
globals.__ENV = run.env;
/** k6's init-stage open(): relative to the script; a directory or a missing path throws, as in k6. */
globals.open = (file: string) => {
  const target = path.resolve(path.dirname(run.script), file);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(target).isDirectory();
  } catch {
    throw new Error(`GoError: open ${target}: no such file or directory`);
  }
  if (isDirectory) throw new Error(`GoError: open() can't be used with directories, path: "${target}"`);
  return readFileSync(target, 'utf8');
};
Object.defineProperty(globalThis, '__VU', { get: () => vu });
Object.defineProperty(globalThis, '__ITER', { get: () => iteration });

const report: K6Report = {
  options: null,
  setupData: null,
  requests,
  checks: {},
  samples,
  sleeps,
  iterations: 0,
  error: null,
  summaryOutput: {},
  writtenFiles: [],
  summaryErrors: [],
};
try {
  const script = (await import(run.script)) as {
    options?: unknown;
    setup?: () => unknown;
    default: (data: unknown) => void;
    teardown?: (data: unknown) => void;
    handleSummary?: (data: unknown) => Record<string, string>;
  };
  report.options = JSON.parse(JSON.stringify(script.options ?? null));
  const started = performance.now();
  const data = script.setup ? k6Module.group('setup', () => script.setup!()) : undefined;
  report.setupData = JSON.parse(JSON.stringify(data ?? null));
  scenario = Object.keys(report.options?.scenarios ?? { default: null })[0];
  for (let i = 0; i < run.iterations; i++) {
    vu = (i % run.vus) + 1;
    iteration = Math.floor(i / run.vus);
    script.default(data);
    report.iterations++;
    sample('iterations', 'counter', 1);
  }
  scenario = undefined;
  if (script.teardown) k6Module.group('teardown', () => script.teardown!(data));
  report.checks = Object.fromEntries(checks);
  if (script.handleSummary) {
    const summary = summaryData(samples, declared, (script.options ?? {}) as Record<string, unknown>, performance.now() - started);
    report.summaryOutput = script.handleSummary(summary);
    for (const [target, content] of Object.entries(report.summaryOutput)) {
      if (target === 'stdout' || target === 'stderr') continue;
      // Like k6: no directory is created, and a file that cannot be written is only reported.
      try {
        writeFileSync(target, content);
        report.writtenFiles.push(target);
      } catch (error) {
        report.summaryErrors.push(`could not open '${target}': ${(error as Error).message}`);
      }
    }
  }
} catch (error) {
  report.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  report.checks = Object.fromEntries(checks);
}
self.postMessage({ kind: 'done', report });
