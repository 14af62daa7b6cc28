/**
 * Running totals per series, in plain numbers: the hot path finds its series by a string key
 * and adds to it; prom-client reads the totals only when Prometheus scrapes (see publish.ts).
 */
import { seriesLabels } from './series-labels.js';

export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  messages: number;
  bytes: number;
  /** Record batches (KoP's entries). */
  batches: number;
}

export class SeriesTable {
  private readonly series = new Map<string, Series>();

  /** Adds to the series of `topic` (full name), `partition` and `group` (null: no group label). */
  add(
    topic: string,
    partition: number,
    group: string | null,
    messages: number,
    bytes: number,
    batches: number,
  ): void {
    // Topic names hold no NUL; a group id comes last, so no two series share a key.
    const key = group === null ? `${topic}\0${partition}` : `${topic}\0${partition}\0${group}`;
    let series = this.series.get(key);
    if (!series) {
      series = { labels: seriesLabels(topic, partition, group), messages: 0, bytes: 0, batches: 0 };
      this.series.set(key, series);
    }
    series.messages += messages;
    series.bytes += bytes;
    series.batches += batches;
  }

  values(): IterableIterator<Series> {
    return this.series.values();
  }

  get size(): number {
    return this.series.size;
  }
}
