/**
 * Counter and histogram families whose series are resolved ONCE (a handle per label set) and then
 * updated with plain arithmetic: no label hashing, no allocation per observation. They render through
 * prom-client's Registry at scrape time exactly as prom-client's own Counter/Histogram would (prom-client's
 * `Metric` shape: name, help, type, aggregator, get()). For the paths that run per call or per batch
 * (gRPC interceptor, admin HTTP, journal writes, session store); prom-client serves the rest.
 */
import type { Metric, Registry } from 'prom-client';

type Labels<L extends string> = Readonly<Record<L, string>>;

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface MetricSnapshot {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: MetricValue[];
}

/** One counter series: `inc()` is an addition. */
export class CounterSeries {
  value = 0;
  constructor(readonly labels: Readonly<Record<string, string>>) {}
  inc(by = 1): void {
    this.value += by;
  }
}

/** One histogram series: per-bucket (not cumulative) counts, sum and count. */
export class HistogramSeries {
  /** counts[i]: observations in (bound[i-1], bound[i]]; the last slot is above the highest bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let b = 0;
    while (b < bounds.length && !(value <= bounds[b]!)) b++;
    this.counts[b]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

abstract class Family<L extends string, S extends { labels: Readonly<Record<string, string>> }> {
  readonly aggregator = 'sum';
  protected readonly byKey = new Map<string, S>();
  /** Series in creation order (the order prom-client prints them). */
  protected readonly all: S[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
  ) {}

  /** The series of `labels`, created (at 0) on first use. Keep the handle; this call hashes. */
  series(labels: Labels<L>): S {
    const key = this.labelNames.map((l) => labels[l]).join('\u0000');
    let s = this.byKey.get(key);
    if (s === undefined) {
      const own: Record<string, string> = {};
      for (const l of this.labelNames) own[l] = labels[l];
      s = this.create(own);
      this.byKey.set(key, s);
      this.all.push(s);
    }
    return s;
  }

  /** Registers this family in `registry` (prom-client renders it with the others). */
  register(registry: Registry): this {
    registry.registerMetric(this as unknown as Metric);
    return this;
  }

  protected abstract create(labels: Record<string, string>): S;
  abstract get(): Promise<MetricSnapshot>;

  reset(): void {
    this.byKey.clear();
    this.all.length = 0;
  }
}

export class CounterFamily<L extends string> extends Family<L, CounterSeries> {
  readonly type = 'counter';
  protected create(labels: Record<string, string>): CounterSeries {
    return new CounterSeries(labels);
  }
  get(): Promise<MetricSnapshot> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.all.map((s) => ({ labels: { ...s.labels }, value: s.value })),
    });
  }
}

export class HistogramFamily<L extends string> extends Family<L, HistogramSeries> {
  readonly type = 'histogram';
  constructor(
    name: string,
    help: string,
    labelNames: readonly L[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
    for (let i = 1; i < buckets.length; i++) if (!(buckets[i]! > buckets[i - 1]!)) throw new Error(`${name}: buckets must increase`);
  }
  protected create(labels: Record<string, string>): HistogramSeries {
    return new HistogramSeries(labels, this.buckets);
  }
  get(): Promise<MetricSnapshot> {
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.all) {
      let acc = 0;
      for (let b = 0; b < this.buckets.length; b++) {
        acc += s.counts[b]!;
        values.push({ labels: { le: this.buckets[b]!, ...s.labels }, value: acc, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: bucket });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
}
