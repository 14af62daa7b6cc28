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
  /**
   * topic -> partition -> group (null: none) -> series. Nested maps rather than one joined key:
   * a partition keeps its topic string and the resolver its group strings, and V8 hashes a
   * string once, so counting is three lookups and builds no string.
   */
  private readonly byTopic = new Map<string, Map<number, Map<string | null, Series>>>();
  private readonly all: Series[] = [];

  /** Adds to the series of `topic` (full name), `partition` and `group` (null: no group label). */
  add(
    topic: string,
    partition: number,
    group: string | null,
    messages: number,
    bytes: number,
    batches: number,
  ): void {
    let partitions = this.byTopic.get(topic);
    if (!partitions) this.byTopic.set(topic, (partitions = new Map()));
    let groups = partitions.get(partition);
    if (!groups) partitions.set(partition, (groups = new Map()));
    let series = groups.get(group);
    if (!series) {
      series = { labels: seriesLabels(topic, partition, group), messages: 0, bytes: 0, batches: 0 };
      groups.set(group, series);
      this.all.push(series);
    }
    series.messages += messages;
    series.bytes += bytes;
    series.batches += batches;
  }

  values(): IterableIterator<Series> {
    return this.all.values();
  }

  get size(): number {
    return this.all.length;
  }
}
