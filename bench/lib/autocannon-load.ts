import autocannon from 'autocannon';
import type { LoadSpec, LoadResult } from './load.ts';

/**
 * One load run with autocannon, in its own process (so the harness's own work never steals its
 * time): reads a LoadSpec from the file named in argv, prints one LoadResult as JSON. Latencies
 * are kept per response (autocannon's own summary has no p95).
 */
const spec = (await Bun.file(process.argv[2]!).json()) as LoadSpec;
let latencies = new Float64Array(1 << 20);
let count = 0;
const statusCounts: Record<string, number> = {};

const single = spec.bodies.length === 1;
const result = await new Promise<autocannon.Result>((resolve, reject) => {
  const instance = autocannon(
    {
      url: spec.url,
      method: 'POST',
      connections: spec.connections,
      duration: spec.durationS,
      timeout: spec.timeoutS,
      headers: { authorization: `Bearer ${spec.token}`, 'content-type': 'application/json' },
      body: spec.bodies[0],
      requests: single
        ? undefined
        : [{ setupRequest: (request) => ({ ...request, body: spec.bodies[Math.floor(Math.random() * spec.bodies.length)] }) }],
    },
    (error, finished) => (error ? reject(error) : resolve(finished)),
  );
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = responseTimeMs;
    statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
  });
});

const sorted = latencies.subarray(0, count).sort();
const at = (p: number) => (count === 0 ? 0 : sorted[Math.min(count - 1, Math.ceil((p / 100) * count) - 1)]!);
const ok = Object.entries(statusCounts).reduce((sum, [status, n]) => sum + (status.startsWith('2') ? n : 0), 0);
const output: Omit<LoadResult, 'loaderCpuS'> = {
  loader: 'autocannon',
  requests: count,
  ok,
  statusCounts,
  errors: result.errors,
  timeouts: result.timeouts,
  durationS: result.duration,
  latencyMs: {
    p50: at(50),
    p95: at(95),
    p99: at(99),
    max: count === 0 ? 0 : sorted[count - 1]!,
    mean: count === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / count,
  },
};
console.log(JSON.stringify(output));
