import type { FlowResult, FlowSpec, StepFigures } from './holds-scenario.ts';

/**
 * The holds scenario's load, in its own process (so the harness's own work never steals its
 * time), as autocannon-load.ts is for the single-request scenarios: `connections` clients, each in
 * a closed loop of two requests, a hold of one unit and then the order that converts it. Reads a
 * FlowSpec from the file named in argv, prints one FlowResult as JSON.
 */
const spec = (await Bun.file(process.argv[2]!).json()) as FlowSpec;
const headers = { authorization: `Bearer ${spec.token}`, 'content-type': 'application/json' };
type Step = { latencies: number[]; ok: number; refused: number; errors: number };
const holds: Step = { latencies: [], ok: 0, refused: 0, errors: 0 };
const orders: Step = { latencies: [], ok: 0, refused: 0, errors: 0 };

async function send(step: Step, path: string, body: unknown): Promise<Record<string, unknown> | undefined> {
  const started = performance.now();
  try {
    const response = await fetch(`${spec.base}${path}`, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(spec.timeoutS * 1000) });
    const answer = (await response.json()) as Record<string, unknown>;
    step.latencies.push(performance.now() - started);
    if (response.ok) step.ok++;
    else step.refused++;
    return response.ok ? answer : undefined;
  } catch {
    step.errors++;
    return undefined;
  }
}

const started = performance.now();
const deadline = started + spec.durationS * 1000;
await Promise.all(
  Array.from({ length: spec.connections }, async (_, n) => {
    const customerId = `bench-${n}`;
    const items = [{ productId: spec.productId, quantity: 1 }];
    while (performance.now() < deadline) {
      const hold = await send(holds, '/api/v1/holds', { customerId, items });
      if (hold) await send(orders, '/api/v1/orders', { customerId, items, holdId: hold.id });
    }
  }),
);
const durationS = (performance.now() - started) / 1000;

function figures(step: Step): StepFigures {
  const sorted = Float64Array.from(step.latencies).sort();
  const at = (p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!);
  const mean = sorted.length === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { ok: step.ok, refused: step.refused, errors: step.errors, latencyMs: { p50: at(50), p95: at(95), p99: at(99), max: sorted.at(-1) ?? 0, mean } };
}

const result: FlowResult = { holds: figures(holds), orders: figures(orders), durationS };
console.log(JSON.stringify(result));
