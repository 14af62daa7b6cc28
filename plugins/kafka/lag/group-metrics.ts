/**
 * The koppa_consumer_group_* metrics, exported by each group's coordinator only: read at scrape
 * time from the groups it serves now (state, members, counters, committed offsets) and from its
 * latest lag sample. A group's series go when it does: its offsets expire, it is deleted, or the
 * coordinator loses its partition (another broker exports them from then on). The series policy
 * decides which groups have series at all, and whether they keep the `partition` label; without
 * it, lag and committed offsets are summed per group and topic, and lag in seconds is the max.
 * Topics are labelled with their full names.
 */
import type { HostMetrics, MetricLabels } from '../../../src/api/index.js';
import type { GroupState } from '../coordinator/types.js';
import type { SeriesPolicy } from '../stats/series-policy.js';
import type { HeldGroup, HeldGroups } from './held-groups.js';
import type { GroupPartitionLag } from './types.js';

const STATES: readonly GroupState[] = [
  'Empty',
  'PreparingRebalance',
  'CompletingRebalance',
  'Stable',
  'Dead',
];

export interface ConsumerGroupMetricsOptions {
  groups: HeldGroups;
  /** The latest sample of a group object's lag on a partition (topic as clients named it). */
  lagOf(group: HeldGroup, topic: string, partition: number): GroupPartitionLag | undefined;
  policy: SeriesPolicy;
  fullTopicName(topic: string): string;
}

type PartitionLabels = 'group' | 'topic' | 'partition';
type SetSeries = (labels: MetricLabels<PartitionLabels>, value: number) => void;
/** A partition's value for a metric; null when unknown (no series). */
type PartitionValue = (
  committedOffset: number,
  lag: GroupPartitionLag | undefined,
) => number | null;

/** Unknown (null) when either is. */
function combined(
  a: number | null,
  b: number | null,
  combine: (a: number, b: number) => number,
): number | null {
  return a === null || b === null ? null : combine(a, b);
}

export function publishConsumerGroupMetrics(
  metrics: HostMetrics,
  options: ConsumerGroupMetricsOptions,
): void {
  const { groups, policy } = options;

  function* allowedGroups(): Generator<HeldGroup> {
    for (const group of groups.heldGroups()) if (policy.groupAllowed(group.groupId)) yield group;
  }

  /**
   * One series per group and partition, or, without the partition label, per group and topic
   * (partition values combined by `combine`; a topic with an unknown partition has no series).
   * A partition committed under two names of one topic (`orders` and its full name) is one
   * series, with the larger value: Prometheus takes one sample per series.
   */
  function readPartitions(
    set: SetSeries,
    value: PartitionValue,
    combine: (a: number, b: number) => number,
  ): void {
    for (const group of allowedGroups()) {
      const byTopic = new Map<string, Map<number, number | null>>();
      for (const { topic, partition, record } of group.offsets.all()) {
        const v = value(record.offset, options.lagOf(group, topic, partition));
        const fullTopic = options.fullTopicName(topic);
        let partitions = byTopic.get(fullTopic);
        if (partitions === undefined) {
          partitions = new Map();
          byTopic.set(fullTopic, partitions);
        }
        const before = partitions.get(partition);
        partitions.set(partition, before === undefined ? v : combined(before, v, Math.max));
      }
      for (const [topic, partitions] of byTopic) {
        if (policy.partitionLabel) {
          for (const [partition, v] of partitions) {
            if (v !== null) set({ group: group.groupId, topic, partition: `${partition}` }, v);
          }
          continue;
        }
        let total: number | null | undefined;
        for (const v of partitions.values()) {
          total = total === undefined ? v : combined(total, v, combine);
        }
        if (total !== null && total !== undefined) set({ group: group.groupId, topic }, total);
      }
    }
  }

  const sum = (a: number, b: number) => a + b;
  const partitionLabels: readonly PartitionLabels[] = ['group', 'topic', 'partition'];
  metrics.gauge({
    name: 'koppa_consumer_group_lag_messages',
    help: 'Messages between the log end offset and the group committed offset, as last sampled by the group coordinator',
    labelNames: partitionLabels,
    read: (set) => readPartitions(set, (_, lag) => lag?.lag ?? null, sum),
  });
  metrics.gauge({
    name: 'koppa_consumer_group_lag_seconds',
    help: 'Seconds from the timestamp of the batch at the committed offset to the sample (0 when caught up), as last sampled by the group coordinator',
    labelNames: partitionLabels,
    read: (set) => readPartitions(set, (_, lag) => lag?.lagSeconds ?? null, Math.max),
  });
  metrics.gauge({
    name: 'koppa_consumer_group_committed_offset',
    help: 'The offset the group committed',
    labelNames: partitionLabels,
    read: (set) => readPartitions(set, (committed) => committed, sum),
  });
  metrics.gauge({
    name: 'koppa_consumer_group_members',
    help: 'Members of the group',
    labelNames: ['group'] as const,
    read: (set) => {
      for (const group of allowedGroups()) set({ group: group.groupId }, group.size);
    },
  });
  metrics.gauge({
    name: 'koppa_consumer_group_state',
    help: 'The group state: 1 for the current one, 0 for the others',
    labelNames: ['group', 'state'] as const,
    read: (set) => {
      for (const group of allowedGroups()) {
        for (const state of STATES)
          set({ group: group.groupId, state }, state === group.state ? 1 : 0);
      }
    },
  });
  metrics.counter({
    name: 'koppa_consumer_group_rebalances_total',
    help: 'Rebalances of the group (generations begun) since this broker became its coordinator',
    labelNames: ['group'] as const,
    read: (set) => {
      for (const group of allowedGroups()) set({ group: group.groupId }, group.rebalances);
    },
  });
  metrics.counter({
    name: 'koppa_consumer_group_commits_total',
    help: 'OffsetCommit requests of the group accepted since this broker became its coordinator',
    labelNames: ['group'] as const,
    read: (set) => {
      for (const group of allowedGroups()) set({ group: group.groupId }, group.offsets.commits);
    },
  });
  metrics.gauge({
    name: 'koppa_consumer_group_last_commit_timestamp_seconds',
    help: 'When the group last committed offsets (seconds since the epoch); after a coordinator move, the newest commit time of the offsets it loaded',
    labelNames: ['group'] as const,
    read: (set) => {
      for (const group of allowedGroups()) {
        const at = group.offsets.lastCommitTimestamp;
        if (at !== null) set({ group: group.groupId }, at / 1000);
      }
    },
  });
}
