/**
 * Running totals per series, in plain numbers: the hot path finds its series through nested maps
 * and adds to it; the exposition reads the totals only when Prometheus scrapes (see publish.ts),
 * rendering each series' labels once (`labelText`) for all later scrapes.
 *
 * The series policy (cardinality guards) is applied when a series is first looked up, not per
 * count: a denied group's map entry is the shared `__other__` series of its topic-partition, and
 * without the partition label every partition of a topic shares one map of series.
 */
import { seriesLabels } from './series-labels.js';
import { ALL_SERIES, OTHER_GROUPS, type SeriesPolicy } from './series-policy.js';

export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  /** The labels as the exposition renders them, cached by it. */
  labelText?: string;
  messages: number;
  bytes: number;
  /** Record batches (KoP's entries). */
  batches: number;
}

/** Group (null: none) → series. */
type SeriesByGroup = Map<string | null, Series>;

/** Where a topic's partitions share their series when the partition label is dropped. */
const ALL_PARTITIONS = -1;

export class SeriesTable {
  /**
   * topic -> partition -> group (null: none) -> series. Nested maps rather than one joined key:
   * a partition keeps its topic string and the resolver its group strings, and V8 hashes a
   * string once, so counting is three lookups and builds no string.
   */
  private readonly byTopic = new Map<string, Map<number, SeriesByGroup>>();
  private readonly all: Series[] = [];

  constructor(private readonly policy: SeriesPolicy = ALL_SERIES) {}

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
    const groups = partitions.get(partition) ?? this.groupsOf(partitions, partition);
    const series = groups.get(group) ?? this.seriesOf(groups, topic, partition, group);
    series.messages += messages;
    series.bytes += bytes;
    series.batches += batches;
  }

  /** Every series, in the order they first counted; series are never removed. */
  values(): IterableIterator<Series> {
    return this.all.values();
  }

  get size(): number {
    return this.all.length;
  }

  /** A partition's first count: its map of series, the topic's one without the partition label. */
  private groupsOf(partitions: Map<number, SeriesByGroup>, partition: number): SeriesByGroup {
    let groups = this.policy.partitionLabel ? undefined : partitions.get(ALL_PARTITIONS);
    if (!groups) {
      groups = new Map();
      if (!this.policy.partitionLabel) partitions.set(ALL_PARTITIONS, groups);
    }
    partitions.set(partition, groups);
    return groups;
  }

  /** A group's first count in `groups`: its own series, or `__other__`'s if it is denied one. */
  private seriesOf(
    groups: SeriesByGroup,
    topic: string,
    partition: number,
    group: string | null,
  ): Series {
    const { policy } = this;
    const labelled = group === null || policy.groupAllowed(group) ? group : OTHER_GROUPS;
    let series = labelled === group ? undefined : groups.get(labelled);
    if (!series) {
      const labels = seriesLabels(topic, policy.partitionLabel ? partition : null, labelled);
      series = { labels, messages: 0, bytes: 0, batches: 0 };
      this.all.push(series);
      groups.set(labelled, series);
    }
    groups.set(group, series);
    return series;
  }
}
