/**
 * The koppa_consumer_group_* series as a scrape reads them from the coordinator's groups and the
 * latest lag samples, under the series policy: denied groups have none, and without the
 * partition label lag and committed offsets are summed per group and topic (lag seconds: max).
 */
import { describe, expect, it } from 'vitest';
import type { HostMetrics, MetricLabels, ScrapedMetric } from '../../../src/api/index.js';
import { publishConsumerGroupMetrics } from '../../../plugins/kafka/lag/group-metrics.js';
import type { HeldGroup } from '../../../plugins/kafka/lag/held-groups.js';
import type { GroupPartitionLag } from '../../../plugins/kafka/lag/types.js';
import { createSeriesPolicy } from '../../../plugins/kafka/stats/series-policy.js';

interface Series {
  type: 'counter' | 'gauge';
  name: string;
  labels: MetricLabels<string>;
  value: number;
}

/** A HostMetrics that reads every metric's series when asked, as a scrape would. */
function recordingMetrics(): HostMetrics & { scrape(): Series[] } {
  const metrics: { type: 'counter' | 'gauge'; metric: ScrapedMetric<string> }[] = [];
  return {
    registry: undefined as never,
    counter: (metric) => void metrics.push({ type: 'counter', metric }),
    gauge: (metric) => void metrics.push({ type: 'gauge', metric }),
    scrape() {
      const series: Series[] = [];
      for (const { type, metric } of metrics) {
        const seen = new Set<string>();
        // Whichever form the host's ReadSeries has (set only, or set and setCached).
        const read = metric.read as (
          set: (labels: MetricLabels<string>, value: number) => void,
          setCached: (series: { labels: MetricLabels<string> }, value: number) => void,
        ) => Iterator<unknown> | void;
        const set = (labels: MetricLabels<string>, value: number): void => {
          const key = JSON.stringify(labels);
          // Prometheus takes one sample per series: the module must combine duplicates itself.
          if (seen.has(key)) throw new Error(`${metric.name}: two samples for ${key}`);
          seen.add(key);
          expect(Object.keys(labels).every((l) => metric.labelNames?.includes(l))).toBe(true);
          series.push({ type, name: metric.name, labels, value });
        };
        const result = read(set, (cached, value) => set(cached.labels, value));
        if (result) for (let step = result.next(); !step.done; step = result.next());
      }
      return series;
    },
  };
}

const full = (topic: string): string =>
  topic.startsWith('persistent://') ? topic : `persistent://public/default/${topic}`;

function heldGroup(
  groupId: string,
  offsets: [topic: string, partition: number, offset: number][],
  overrides: Partial<Pick<HeldGroup, 'state' | 'size' | 'rebalances'>> & {
    commits?: number;
    lastCommitTimestamp?: number | null;
  } = {},
): HeldGroup {
  return {
    groupId,
    state: overrides.state ?? 'Stable',
    size: overrides.size ?? 2,
    rebalances: overrides.rebalances ?? 3,
    offsets: {
      commits: overrides.commits ?? 5,
      lastCommitTimestamp:
        overrides.lastCommitTimestamp === undefined
          ? 1_700_000_000_000
          : overrides.lastCommitTimestamp,
      all: () =>
        offsets.map(([topic, partition, offset]) => ({ topic, partition, record: { offset } })),
    },
  };
}

/** Lag samples by group, then `topic/partition` (topic as committed). */
type Lags = Record<string, Record<string, Partial<GroupPartitionLag>>>;

function publish(
  groups: HeldGroup[],
  lags: Lags,
  policy = { allowPatterns: [] as string[], denyPatterns: [] as string[], partitionLabel: true },
) {
  const metrics = recordingMetrics();
  publishConsumerGroupMetrics(metrics, {
    groups: {
      heldGroups: () => groups,
      heldGroup: (id) => groups.find((g) => g.groupId === id),
    },
    lagOf: (group, topic, partition) =>
      lags[group.groupId]?.[`${topic}/${partition}`] as GroupPartitionLag | undefined,
    policy: createSeriesPolicy(policy),
    fullTopicName: full,
  });
  return metrics;
}

const pick = (series: Series[], name: string) =>
  series
    .filter((s) => s.name === name)
    .map((s) => ({ ...s.labels, value: s.value }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe('consumer-group metrics', () => {
  const orders = heldGroup('orders-app', [
    ['orders', 0, 10],
    ['orders', 1, 20],
    ['persistent://t/n/audit', 0, 3],
  ]);
  const lags: Lags = {
    'orders-app': {
      'orders/0': { lag: 5, lagSeconds: 12.5 },
      'orders/1': { lag: 0, lagSeconds: 0 },
      'persistent://t/n/audit/0': { lag: 7, lagSeconds: null },
    },
  };

  it('exports each partition of each group with full topic names', () => {
    const series = publish([orders], lags).scrape();
    expect(pick(series, 'koppa_consumer_group_lag_messages')).toEqual([
      { group: 'orders-app', topic: full('orders'), partition: '0', value: 5 },
      { group: 'orders-app', topic: full('orders'), partition: '1', value: 0 },
      { group: 'orders-app', topic: 'persistent://t/n/audit', partition: '0', value: 7 },
    ]);
    // Unknown seconds (no batch at the committed offset): no series.
    expect(pick(series, 'koppa_consumer_group_lag_seconds')).toEqual([
      { group: 'orders-app', topic: full('orders'), partition: '0', value: 12.5 },
      { group: 'orders-app', topic: full('orders'), partition: '1', value: 0 },
    ]);
    expect(pick(series, 'koppa_consumer_group_committed_offset')).toEqual([
      { group: 'orders-app', topic: full('orders'), partition: '0', value: 10 },
      { group: 'orders-app', topic: full('orders'), partition: '1', value: 20 },
      { group: 'orders-app', topic: 'persistent://t/n/audit', partition: '0', value: 3 },
    ]);
    expect(pick(series, 'koppa_consumer_group_members')).toEqual([
      { group: 'orders-app', value: 2 },
    ]);
    expect(pick(series, 'koppa_consumer_group_state')).toEqual(
      [
        { group: 'orders-app', state: 'CompletingRebalance', value: 0 },
        { group: 'orders-app', state: 'Dead', value: 0 },
        { group: 'orders-app', state: 'Empty', value: 0 },
        { group: 'orders-app', state: 'PreparingRebalance', value: 0 },
        { group: 'orders-app', state: 'Stable', value: 1 },
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
    expect(
      series.filter((s) => s.name.endsWith('_total')).map((s) => [s.type, s.name, s.value]),
    ).toEqual([
      ['counter', 'koppa_consumer_group_rebalances_total', 3],
      ['counter', 'koppa_consumer_group_commits_total', 5],
    ]);
    expect(pick(series, 'koppa_consumer_group_last_commit_timestamp_seconds')).toEqual([
      { group: 'orders-app', value: 1_700_000_000 },
    ]);
  });

  it('has no lag series before the first sample, and no commit time without commits', () => {
    const fresh = heldGroup('fresh', [['orders', 0, 1]], { lastCommitTimestamp: null });
    const series = publish([fresh], {}).scrape();
    expect(pick(series, 'koppa_consumer_group_lag_messages')).toEqual([]);
    expect(pick(series, 'koppa_consumer_group_lag_seconds')).toEqual([]);
    expect(pick(series, 'koppa_consumer_group_committed_offset')).toHaveLength(1);
    expect(pick(series, 'koppa_consumer_group_last_commit_timestamp_seconds')).toEqual([]);
  });

  it('makes one series of a partition committed under two names of its topic', () => {
    const twice = heldGroup('twice', [
      ['orders', 0, 4],
      [full('orders'), 0, 9],
    ]);
    const series = publish([twice], {
      twice: { 'orders/0': { lag: 6 }, [`${full('orders')}/0`]: { lag: 1 } },
    }).scrape();
    expect(pick(series, 'koppa_consumer_group_committed_offset')).toEqual([
      { group: 'twice', topic: full('orders'), partition: '0', value: 9 },
    ]);
    expect(pick(series, 'koppa_consumer_group_lag_messages')).toEqual([
      { group: 'twice', topic: full('orders'), partition: '0', value: 6 },
    ]);
  });

  it('exports nothing for a denied group, nor for one outside the allowed ones', () => {
    const groups = [orders, heldGroup('tmp-123', [['orders', 0, 1]]), heldGroup('other', [])];
    const policy = { allowPatterns: ['orders-.*', 'tmp-\\d+'], denyPatterns: ['tmp-.*'] };
    const series = publish(groups, lags, { ...policy, partitionLabel: true }).scrape();
    expect(series.length).toBeGreaterThan(0);
    expect(new Set(series.map((s) => s.labels.group))).toEqual(new Set(['orders-app']));
  });

  it('without the partition label: sums per topic, the max of seconds, none when one is unknown', () => {
    const policy = { allowPatterns: [], denyPatterns: [], partitionLabel: false };
    const series = publish([orders], lags, policy).scrape();
    expect(pick(series, 'koppa_consumer_group_lag_messages')).toEqual([
      { group: 'orders-app', topic: full('orders'), value: 5 },
      { group: 'orders-app', topic: 'persistent://t/n/audit', value: 7 },
    ]);
    expect(pick(series, 'koppa_consumer_group_lag_seconds')).toEqual([
      { group: 'orders-app', topic: full('orders'), value: 12.5 },
    ]);
    expect(pick(series, 'koppa_consumer_group_committed_offset')).toEqual([
      { group: 'orders-app', topic: full('orders'), value: 30 },
      { group: 'orders-app', topic: 'persistent://t/n/audit', value: 3 },
    ]);
    expect(pick(series, 'koppa_consumer_group_members')).toEqual([
      { group: 'orders-app', value: 2 },
    ]);
  });
});
