/**
 * Each broker's metrics: its own prom-client Registry (the standalone runs several brokers in one
 * process, so the global default registry would mix them), handed to protocol handlers through
 * the host context and served on the broker's HTTP port at `/metrics`.
 *
 * Hot paths count in plain numbers and publish at scrape time: `counter` and `gauge` register a
 * metric whose series are read from the handler's own structures when Prometheus scrapes, so
 * nothing on a request path touches prom-client. Metrics that change rarely (mapping writes,
 * repairs) may as well be plain prom-client Counters registered with `registers: [registry]`.
 */
import { Counter, Gauge, Registry } from 'prom-client';

export type MetricLabels<L extends string> = Partial<Record<L, string>>;

/** Reports every series of a metric at scrape time: call `set` once per series. */
export type ReadSeries<L extends string> = (
  set: (labels: MetricLabels<L>, value: number) => void,
) => void;

export interface ScrapedMetric<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  read: ReadSeries<L>;
}

export interface HostMetrics {
  /** This broker's registry (never the process-wide default one). */
  readonly registry: Registry;
  /**
   * A counter whose series are read at scrape time. Each series' value must be its running
   * total, which never goes down while the series exists. A series left out of a label set it
   * declares is rendered without that label (not as an empty value).
   */
  counter<L extends string>(metric: ScrapedMetric<L>): void;
  /** A gauge whose series are read at scrape time. */
  gauge<L extends string>(metric: ScrapedMetric<L>): void;
}

export function createHostMetrics(): HostMetrics {
  const registry = new Registry();
  const config = <L extends string>({ name, help, labelNames = [], read }: ScrapedMetric<L>) => ({
    name,
    help,
    labelNames,
    registers: [registry],
    // prom-client metrics cannot be set to a total directly (a Counter only goes up), so each
    // scrape starts from nothing and adds every series' current value once.
    collect(this: Counter<L> | Gauge<L>) {
      this.reset();
      read((labels, value) => this.inc(labels, value));
    },
  });
  return {
    registry,
    counter: (metric) => void new Counter(config(metric)),
    gauge: (metric) => void new Gauge(config(metric)),
  };
}
