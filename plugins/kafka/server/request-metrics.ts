/**
 * The Kafka listener's metrics: how long requests take per API (from the frame read to the
 * response written, long polls included, as Kafka's TotalTimeMs), the error codes responses
 * carry, and the connections open, opened and closed. The request path adds to plain numbers
 * (one duration per request, its response's error codes walked once, per entry at most); the
 * series are built when Prometheus scrapes.
 */
import type { HostMetrics, MetricLabels } from '../../../src/api/index.js';
import { apiKeyNames, errorName } from '../protocol/index.js';
import { forEachErrorCode } from './response-errors.js';
import { bucketIndex, ScrapedHistogram, type HistogramCounts } from './scraped-histogram.js';

export const REQUEST_DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** One API's request durations. */
class Durations implements HistogramCounts {
  readonly counts = new Float64Array(REQUEST_DURATION_BUCKETS.length + 1);
  sum = 0;
  count = 0;
}

export class RequestMetrics {
  /** By api key. */
  private readonly durations: (Durations | undefined)[] = [];
  /** By api key: error code → responses' entries with it. */
  private readonly errors: (Map<number, number> | undefined)[] = [];
  private opened = 0;
  private closed = 0;
  private errorApiKey = 0;
  /** Counts one error code of the response being walked (a bound method: no closure per response). */
  private readonly countCode = (code: number): void => {
    if (code !== 0) this.countError(this.errorApiKey, code);
  };

  constructor(metrics: HostMetrics) {
    const histogram = new ScrapedHistogram({
      name: 'koppa_kafka_request_duration_seconds',
      help: 'Kafka requests: time from the request frame read to the response written (Fetch long polls included), by API',
      labelNames: ['api'],
      buckets: REQUEST_DURATION_BUCKETS,
      read: (set) => this.durations.forEach((d, apiKey) => d && set({ api: apiName(apiKey) }, d)),
    });
    // The registry renders any object with prom-client's `get` (see ScrapedHistogram).
    metrics.registry.registerMetric(
      histogram as unknown as Parameters<HostMetrics['registry']['registerMetric']>[0],
    );
    metrics.counter({
      name: 'koppa_kafka_request_errors_total',
      help: "Error codes in Kafka responses (top-level and per topic, partition, group or member entry), by API and Kafka's error name",
      labelNames: ['api', 'error'],
      read: (set) => this.readErrors(set),
    });
    metrics.gauge({
      name: 'koppa_kafka_connections',
      help: 'Kafka client connections open now',
      read: (set) => set({}, this.opened - this.closed),
    });
    metrics.counter({
      name: 'koppa_kafka_connections_opened_total',
      help: 'Kafka client connections accepted',
      read: (set) => set({}, this.opened),
    });
    metrics.counter({
      name: 'koppa_kafka_connections_closed_total',
      help: 'Kafka client connections closed, by either side (malformed input included)',
      read: (set) => set({}, this.closed),
    });
  }

  connectionOpened(): void {
    this.opened++;
  }

  connectionClosed(): void {
    this.closed++;
  }

  /** A request answered (or finished without an answer) `startedAt` (performance.now()) ago. */
  requestDone(apiKey: number, startedAt: number): void {
    const seconds = (performance.now() - startedAt) / 1000;
    let d = this.durations[apiKey];
    if (!d) this.durations[apiKey] = d = new Durations();
    d.counts[bucketIndex(REQUEST_DURATION_BUCKETS, seconds)]++;
    d.sum += seconds;
    d.count++;
  }

  /** Counts the error codes an `apiKey` response carries. */
  countResponseErrors(apiKey: number, response: unknown): void {
    this.errorApiKey = apiKey;
    forEachErrorCode(apiKey, response, this.countCode);
  }

  /** Counts one error code (a response built without a response object, e.g. ApiVersions' fallback). */
  countError(apiKey: number, code: number): void {
    let byCode = this.errors[apiKey];
    if (!byCode) this.errors[apiKey] = byCode = new Map();
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
  }

  private readErrors(set: (labels: MetricLabels<'api' | 'error'>, value: number) => void): void {
    this.errors.forEach((byCode, apiKey) => {
      if (!byCode) return;
      const api = apiName(apiKey);
      for (const [code, count] of byCode) set({ api, error: errorName(code) }, count);
    });
  }
}

function apiName(apiKey: number): string {
  return apiKeyNames[apiKey] ?? `ApiKey${apiKey}`;
}
