/**
 * The metrics read at scrape time (`metrics.counter`/`metrics.gauge`), written straight into the
 * text format: each series is one line built from its labels' text and its value, so a scrape of
 * 100,000 series builds 100,000 strings rather than prom-client's label objects, hash keys and
 * sample objects (which cost about 8 µs per series, read, reset and added up again at each
 * scrape). The text comes in pieces of about `chunkChars` characters, cut where a metric's
 * reader yields, so that the caller may let other work run between them.
 */
import type { CachedSeries, MetricLabels, ReadSeries, ScrapedMetric } from './host-metrics.js';
import {
  checkLabelName,
  checkMetricName,
  formatValue,
  metricHeader,
  renderLabels,
} from './exposition-text.js';

interface Entry {
  readonly name: string;
  /** `# HELP` and `# TYPE`. */
  readonly header: string;
  readonly labelNames: ReadonlySet<string>;
  readonly read: ReadSeries<string>;
}

export class ScrapedMetrics {
  private readonly entries: Entry[] = [];
  private readonly names = new Set<string>();

  /**
   * @param constantLabels labels every series carries, rendered (`cluster="east"`); a metric
   * may not declare them.
   */
  constructor(private readonly constantLabels: Readonly<Record<string, string>>) {}

  has(name: string): boolean {
    return this.names.has(name);
  }

  add<L extends string>(type: 'counter' | 'gauge', metric: ScrapedMetric<L>): void {
    const { name, help, labelNames = [], read } = metric;
    checkMetricName(name);
    if (this.names.has(name)) {
      throw new Error(`A metric with the name ${name} has already been registered.`);
    }
    for (const label of labelNames) {
      checkLabelName(name, label);
      if (label in this.constantLabels) {
        throw new Error(`${name}: label ${label} is the host's, on every series`);
      }
    }
    this.names.add(name);
    this.entries.push({
      name,
      header: metricHeader(name, help, type),
      labelNames: new Set(labelNames),
      read: read as ReadSeries<string>,
    });
  }

  /** The text of every metric, in pieces of `chunkChars` characters or a little more. */
  *render(chunkChars: number): Generator<string, void, undefined> {
    const constant = renderLabels(this.constantLabels);
    let text = '';
    for (const { name, header, labelNames, read } of this.entries) {
      text += header;
      const check = (label: string) => {
        if (!labelNames.has(label)) throw new Error(`${name}: label ${label} is not declared`);
      };
      // A series' line: `name{labels,constant} value`.
      const open = `${name}{`;
      const close = constant === '' ? '} ' : `,${constant}} `;
      const bare = constant === '' ? `${name} ` : `${name}{${constant}} `;
      const line = (labelText: string, value: number) => {
        text += labelText === '' ? bare : open + labelText + close;
        text += `${formatValue(value)}\n`;
      };
      const set = (labels: MetricLabels<string>, value: number) =>
        line(renderLabels(labels, check), value);
      const setCached = (series: CachedSeries<string>, value: number) =>
        line((series.labelText ??= renderLabels(series.labels, check)), value);
      const steps = read(set, setCached);
      if (isIterator(steps)) {
        try {
          while (!steps.next().done) {
            if (text.length < chunkChars) continue;
            yield text;
            text = '';
          }
        } finally {
          // The caller stopped reading (the scrape was dropped): the reader finishes too.
          steps.return?.();
        }
      }
      if (text.length < chunkChars) continue;
      yield text;
      text = '';
    }
    if (text !== '') yield text;
  }
}

/** A reader that is a generator function gave its steps; a plain one returned nothing. */
function isIterator(value: unknown): value is Iterator<unknown> {
  return typeof value === 'object' && value !== null && 'next' in value;
}
