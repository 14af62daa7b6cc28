/**
 * Each broker's metrics: its own prom-client Registry (the standalone runs several brokers in one
 * process, so the global default registry would mix them), handed to protocol handlers through
 * the host context and served on the broker's HTTP port at `/metrics`, every series labelled
 * with the broker's `cluster` (as KoP and Pulsar label theirs).
 *
 * Hot paths count in plain numbers and publish at scrape time: `counter` and `gauge` register a
 * metric whose series are read from the handler's own structures when Prometheus scrapes, and
 * written straight into the text format (scraped-metrics.ts), so nothing on a request path
 * touches prom-client and a scrape of many series stays cheap. Metrics that change rarely may as
 * well be prom-client metrics registered on `registry` (`registers: [registry]`), histograms too.
 */
import { Registry, type Metric } from 'prom-client';
import { CONTENT_TYPE } from './exposition-text.js';
import { processMetrics, processMetricsOf } from './process-metrics.js';
import { ScrapedMetrics } from './scraped-metrics.js';

export type MetricLabels<L extends string> = Partial<Record<L, string>>;

/**
 * A series that lives across scrapes with the same labels: the exposition renders its labels
 * once, into `labelText`, and reuses the text at the next scrapes. The owner sets `labels` once
 * and leaves `labelText` to the exposition.
 */
export interface CachedSeries<L extends string> {
  readonly labels: MetricLabels<L>;
  labelText?: string;
}

/**
 * Reports every series of a metric at scrape time: `set` once per series, or `setCached` for a
 * series object that outlives the scrape. Calling either twice with the same labels gives two
 * samples of one series, which Prometheus refuses: sum first. A generator function may be given:
 * the exposition may pause at each `yield` to let other work run, so a metric of many series
 * yields every few hundred.
 */
export type ReadSeries<L extends string> = (
  set: (labels: MetricLabels<L>, value: number) => void,
  setCached: (series: CachedSeries<L>, value: number) => void,
) => Iterator<unknown> | void;

export interface ScrapedMetric<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  read: ReadSeries<L>;
}

export interface HostMetrics {
  /**
   * This broker's prom-client registry (never the process-wide default one). Its default labels
   * hold `cluster`: leave them.
   */
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

/** What the host itself does with a broker's metrics: serve them. */
export interface BrokerMetrics extends HostMetrics {
  readonly contentType: string;
  /**
   * The `/metrics` body in pieces, with a turn of the event loop before each but the first, so
   * that a scrape of many series does not hold up requests. Each metric name appears once.
   */
  expositionChunks(): AsyncGenerator<string, void, undefined>;
  /** The whole `/metrics` body. */
  exposition(): Promise<string>;
}

/** Characters of text rendered between two turns of the event loop (about 0.3 ms of work). */
const CHUNK_CHARS = 256 * 1024;

/** A registry that refuses a name already taken by a scraped metric or by the process's. */
class BrokerRegistry extends Registry {
  constructor(private readonly scraped: () => ScrapedMetrics) {
    super();
  }

  override registerMetric<T extends string>(metric: Metric<T>): void {
    const { name } = metric as unknown as { name: string };
    if (this.scraped().has(name) || processMetrics().getSingleMetric(name)) {
      throw new Error(`A metric with the name ${name} has already been registered.`);
    }
    super.registerMetric(metric);
  }
}

export function createHostMetrics(options: { clusterName?: string } = {}): BrokerMetrics {
  const labels = { cluster: options.clusterName ?? 'standalone' };
  const scraped = new ScrapedMetrics(labels);
  const registry = new BrokerRegistry(() => scraped);
  registry.setDefaultLabels(labels);
  const processRegistry = processMetricsOf(labels.cluster);
  const add =
    (type: 'counter' | 'gauge') =>
    <L extends string>(metric: ScrapedMetric<L>): void => {
      if (registry.getSingleMetric(metric.name) || processRegistry.getSingleMetric(metric.name)) {
        throw new Error(`A metric with the name ${metric.name} has already been registered.`);
      }
      scraped.add(type, metric);
    };
  async function* expositionChunks(): AsyncGenerator<string, void, undefined> {
    let first = true;
    for (const chunk of scraped.render(CHUNK_CHARS)) {
      if (!first) await new Promise((resolve) => setImmediate(resolve));
      first = false;
      yield chunk;
    }
    // prom-client's own metrics: few series (histograms, the process's), rendered by it.
    yield await registry.metrics();
    yield await processRegistry.metrics();
  }
  return {
    registry,
    counter: add('counter'),
    gauge: add('gauge'),
    contentType: CONTENT_TYPE,
    expositionChunks,
    async exposition() {
      let body = '';
      for await (const chunk of expositionChunks()) body += chunk;
      return body;
    },
  };
}
