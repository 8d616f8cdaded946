/** What the k6 shim's worker and the test's main thread say to each other, and the summary it builds. */
export type RunRequest = { script: string; env: Record<string, string>; vus: number; iterations: number };

export type HttpCall = { kind: 'http'; buffer: SharedArrayBuffer; method: string; url: string; body: string | null; headers: Record<string, string> };
export type HttpReply = { status: number; headers: Record<string, string>; body: string; durationMs: number; error?: string };
/** Layout of the shared buffer: [0] ready flag, [4] reply length, then the reply as JSON. */
export const REPLY_OFFSET = 8;

export type RecordedRequest = {
  method: string;
  url: string;
  status: number;
  group: string;
  tags: Record<string, string>;
  durationMs: number;
  vu: number;
  iteration: number;
};

export type MetricSample = { metric: string; type: 'counter' | 'gauge' | 'rate' | 'trend'; value: number; tags: Record<string, string> };

export type K6Report = {
  options: any;
  setupData: any;
  requests: RecordedRequest[];
  checks: Record<string, { passes: number; fails: number }>;
  samples: MetricSample[];
  sleeps: number[];
  iterations: number;
  error: string | null;
  /** What handleSummary returned (path or stdout → content). */
  summaryOutput: Record<string, string>;
  writtenFiles: string[];
  /** Summary files that could not be written (k6 logs these and still exits 0). */
  summaryErrors: string[];
};

const DEFAULT_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

function aggregate(type: MetricSample['type'], values: number[], seconds: number, trendStats: string[]): Record<string, number> {
  switch (type) {
    case 'counter': {
      const count = values.reduce((a, b) => a + b, 0);
      return { count, rate: count / Math.max(seconds, 1e-3) };
    }
    case 'rate': {
      const passes = values.filter((v) => v !== 0).length;
      return { rate: values.length === 0 ? 0 : passes / values.length, passes, fails: values.length - passes };
    }
    case 'gauge':
      return values.length === 0 ? { value: 0, min: 0, max: 0 } : { value: values.at(-1)!, min: Math.min(...values), max: Math.max(...values) };
    case 'trend': {
      const sorted = [...values].sort((a, b) => a - b);
      const all: Record<string, number> = {
        avg: sorted.length === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / sorted.length,
        min: sorted[0] ?? 0,
        med: percentile(sorted, 50),
        max: sorted.at(-1) ?? 0,
      };
      return Object.fromEntries(
        trendStats.map((stat) => {
          const p = /^p\((\d+(?:\.\d+)?)\)$/.exec(stat);
          return [stat, p ? percentile(sorted, Number(p[1])) : all[stat]!];
        }),
      );
    }
  }
}

const EXPRESSION = /^\s*(avg|min|max|med|count|rate|value|p\((\d+(?:\.\d+)?)\))\s*(<=|>=|<|>|===|==|!=)\s*(-?\d+(?:\.\d+)?)\s*$/;

/** Evaluates one threshold expression ("p(95)<200", "rate<0.01") the way k6 does, on aggregated values. */
export function evaluateThreshold(expression: string, values: Record<string, number>, samples: number[]): boolean {
  const match = EXPRESSION.exec(expression);
  if (!match) throw new Error(`shim: threshold expression not understood: "${expression}"`);
  const [, stat, p, op, limit] = match;
  const actual = p ? percentile([...samples].sort((a, b) => a - b), Number(p)) : values[stat!];
  if (actual === undefined) throw new Error(`shim: "${stat}" is not a statistic of this metric (threshold "${expression}")`);
  const bound = Number(limit);
  switch (op) {
    case '<':
      return actual < bound;
    case '<=':
      return actual <= bound;
    case '>':
      return actual > bound;
    case '>=':
      return actual >= bound;
    case '!=':
      return actual !== bound;
    default:
      return actual === bound;
  }
}

/** "http_req_duration{group:::browse,name:x}" → the metric and its tag filter. */
export function parseMetricKey(key: string): { metric: string; tags: Record<string, string> } {
  const match = /^([^{]+)(?:\{(.*)\})?$/.exec(key);
  if (!match) throw new Error(`shim: metric key not understood: "${key}"`);
  const tags: Record<string, string> = {};
  for (const part of (match[2] ?? '').split(',').filter(Boolean)) {
    const at = part.indexOf(':');
    if (at < 0) throw new Error(`shim: tag filter not understood in "${key}"`);
    tags[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return { metric: match[1]!.trim(), tags };
}

/** The `data` k6 hands to handleSummary, built from what the run recorded (thresholds evaluated). */
export function summaryData(samples: MetricSample[], declared: Map<string, MetricSample['type']>, options: Record<string, unknown>, durationMs: number) {
  const trendStats = (options.summaryTrendStats as string[] | undefined) ?? DEFAULT_TREND_STATS;
  const seconds = durationMs / 1000;
  type SummaryMetric = { type: string; contains: string; values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> };
  const metrics: Record<string, SummaryMetric> = {};
  const describe = (key: string, filter: Record<string, string>, metric: string) => {
    const matching = samples.filter((s) => s.metric === metric && Object.entries(filter).every(([tag, value]) => s.tags[tag] === value));
    // A custom metric the script declared but never fed still exists (k6 reports it empty).
    const type = matching[0]?.type ?? samples.find((s) => s.metric === metric)?.type ?? declared.get(metric);
    if (!type) return undefined;
    const values = matching.map((s) => s.value);
    const entry: SummaryMetric = { type, contains: metric.includes('duration') ? 'time' : 'default', values: aggregate(type, values, seconds, trendStats) };
    metrics[key] = entry;
    return { entry, values };
  };
  for (const metric of new Set([...samples.map((s) => s.metric), ...declared.keys()])) describe(metric, {}, metric);
  const thresholds = (options.thresholds ?? {}) as Record<string, string[]>;
  for (const [key, expressions] of Object.entries(thresholds)) {
    const { metric, tags } = parseMetricKey(key);
    const described = describe(key, tags, metric);
    if (!described) throw new Error(`shim: threshold on "${key}", a metric this run never recorded`);
    described.entry.thresholds = Object.fromEntries(
      expressions.map((expression) => [expression, { ok: evaluateThreshold(expression, described.entry.values, described.values) }]),
    );
  }
  return {
    root_group: { name: '', path: '', groups: [], checks: [] },
    options: { summaryTrendStats: trendStats, summaryTimeUnit: '', noColor: true },
    state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: durationMs },
    metrics,
  };
}
