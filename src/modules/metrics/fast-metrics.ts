import type { Registry } from 'prom-client';

type Labels = Record<string, string | number>;
type Value = { labels: Labels; value: number; metricName?: string };

/**
 * Labelled metrics for the per-request and per-order paths. prom-client validates and hashes the
 * labels on every observation, even through a child from `labels()`; here a series is looked up
 * once and an observation is an array increment. They register with a prom-client Registry (it
 * only calls `get()`), so `/metrics` is unchanged.
 */
abstract class FastMetric<S> {
  protected readonly series = new Map<string, { labels: Labels; state: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    registers: Registry[],
  ) {
    for (const registry of registers) registry.registerMetric(this as never);
  }

  /** The series of these labels (created on first use): keep it, and observe it directly. */
  protected seriesOf(labels: Labels): S {
    const key = Object.values(labels).join('\u0000');
    let entry = this.series.get(key);
    if (!entry) this.series.set(key, (entry = { labels, state: this.fresh() }));
    return entry.state;
  }

  protected abstract fresh(): S;
  abstract get(): Promise<{ name: string; help: string; type: string; values: Value[]; aggregator: string }>;

  reset() {
    this.series.clear();
  }
}

type HistogramState = { buckets: Float64Array; sum: number; count: number };

export class FastHistogram extends FastMetric<HistogramState> {
  constructor(
    name: string,
    help: string,
    private readonly upperBounds: number[],
    registers: Registry[],
  ) {
    super(name, help, registers);
  }

  child(labels: Labels): { observe(value: number): void } {
    const state = this.seriesOf(labels);
    const bounds = this.upperBounds;
    return {
      observe(value: number) {
        state.sum += value;
        state.count += 1;
        for (let i = 0; i < bounds.length; i++) {
          if (value <= bounds[i]!) {
            state.buckets[i]! += 1;
            return;
          }
        }
      },
    };
  }

  protected fresh(): HistogramState {
    return { buckets: new Float64Array(this.upperBounds.length), sum: 0, count: 0 };
  }

  async get() {
    const values: Value[] = [];
    for (const { labels, state } of this.series.values()) {
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += state.buckets[i]!;
        values.push({ labels: { ...labels, le }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { ...labels, le: '+Inf' }, value: state.count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: state.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: state.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }
}

export class FastCounter extends FastMetric<{ value: number }> {
  child(labels: Labels): { inc(n?: number): void } {
    const state = this.seriesOf(labels);
    return { inc: (n = 1) => void (state.value += n) };
  }

  protected fresh() {
    return { value: 0 };
  }

  async get() {
    const values = [...this.series.values()].map(({ labels, state }) => ({ labels, value: state.value }));
    return { name: this.name, help: this.help, type: 'counter', values, aggregator: 'sum' };
  }
}
