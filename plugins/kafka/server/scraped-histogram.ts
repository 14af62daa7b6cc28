/**
 * A Prometheus histogram whose counts live in the caller's plain numbers and are read only when
 * the registry is scraped. prom-client's Histogram builds a label key on every observation (about
 * 400 ns); the request path instead adds to a Float64Array, and the registry renders the series
 * here, in the same form (`_bucket` with cumulative `le` counts, `_sum`, `_count`), so that it
 * aggregates across brokers like any histogram.
 */
import type { MetricLabels } from '../../../src/api/index.js';

/** Counts per bucket, not cumulative: `counts[i]` for values in (bounds[i-1], bounds[i]], the last one above every bound. */
export interface HistogramCounts {
  readonly counts: ArrayLike<number>;
  readonly sum: number;
  readonly count: number;
}

export interface ScrapedHistogramOptions<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  /** Upper bounds, ascending; `+Inf` is added. */
  buckets: readonly number[];
  /** Calls `set` once per series, at scrape time. */
  read: (set: (labels: MetricLabels<L>, counts: HistogramCounts) => void) => void;
}

/** Puts the first bound >= value's bucket index up by one (values above every bound: the last). */
export function bucketIndex(bounds: readonly number[], value: number): number {
  let i = 0;
  while (i < bounds.length && value > bounds[i]) i++;
  return i;
}

interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * The object a prom-client Registry renders (`registerMetric`): its `get` gives the samples, as a
 * prom-client Histogram's does. Default labels the registry adds (e.g. the cluster) apply too.
 */
export class ScrapedHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly les: string[];

  constructor(private readonly options: ScrapedHistogramOptions<L>) {
    this.name = options.name;
    this.help = options.help;
    this.les = [...options.buckets.map(String), '+Inf'];
  }

  get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: Sample[];
  }> {
    const values: Sample[] = [];
    const { name } = this;
    this.options.read((labels, { counts, sum, count }) => {
      const series = labels as Record<string, string>;
      let cumulative = 0;
      for (let i = 0; i < this.les.length; i++) {
        cumulative += counts[i] ?? 0;
        values.push({
          metricName: `${name}_bucket`,
          labels: { ...series, le: this.les[i] },
          value: cumulative,
        });
      }
      values.push({ metricName: `${name}_sum`, labels: series, value: sum });
      values.push({ metricName: `${name}_count`, labels: series, value: count });
    });
    return Promise.resolve({
      name,
      help: this.help,
      type: 'histogram',
      aggregator: 'sum',
      values,
    });
  }

  /** The registry's resetMetrics: the counts belong to the caller, who never resets them. */
  reset(): void {}
}
