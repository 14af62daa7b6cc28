/**
 * The lag sampler without sockets: its arithmetic (messages and seconds from an owner's answer),
 * one reader call per sample with one query per partition, samples kept only for the group
 * objects the coordinator still holds, and no overlapping samples however slow the owners are.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HeldGroup, HeldGroups } from '../../../plugins/kafka/lag/held-groups.js';
import { LagSampler, partitionLag } from '../../../plugins/kafka/lag/lag-sampler.js';
import type {
  LogPositions,
  LogPositionsQuery,
  LogPositionsReader,
} from '../../../plugins/kafka/lag/types.js';

const NOW = 1_700_000_000_000;
const full = (topic: string): string => `persistent://public/default/${topic}`;
const silent = { debug: () => undefined, warn: () => undefined };

function group(groupId: string, offsets: [topic: string, partition: number, offset: number][]) {
  return {
    groupId,
    state: 'Stable',
    size: 1,
    rebalances: 1,
    offsets: {
      commits: 1,
      lastCommitTimestamp: NOW,
      all: () =>
        offsets.map(([topic, partition, offset]) => ({ topic, partition, record: { offset } })),
    },
  } satisfies HeldGroup;
}

/** A coordinator holding these group objects (a test may swap or drop them). */
function holding(groups: HeldGroup[]): HeldGroups & { groups: HeldGroup[] } {
  return {
    groups,
    heldGroups() {
      return this.groups;
    },
    heldGroup(groupId) {
      return this.groups.find((g) => g.groupId === groupId);
    },
  };
}

/** Owners' answers: log end per full topic and partition, batch timestamps by offset. */
function owners(
  logEnds: Record<string, number>,
  timestampAt: (topic: string, partition: number, offset: number) => number | null,
): LogPositionsReader & { calls: LogPositionsQuery[][] } {
  const calls: LogPositionsQuery[][] = [];
  return {
    calls,
    async read(queries) {
      calls.push(queries);
      return queries.map(({ topic, partition, timestampsAt }): LogPositions => {
        const end = logEnds[`${topic}/${partition}`];
        if (end === undefined) return { topic, partition, error: 'NOT_OWNER' };
        return {
          topic,
          partition,
          logStartOffset: 0,
          logEndOffset: end,
          timestamps: Object.fromEntries(
            (timestampsAt ?? []).map((o) => [
              String(o),
              o < end ? timestampAt(topic, partition, o) : null,
            ]),
          ),
        };
      });
    },
  };
}

describe('partitionLag', () => {
  const answer = (logEndOffset: number, timestamps: Record<string, number | null> = {}) =>
    ({ topic: 't', partition: 0, logStartOffset: 0, logEndOffset, timestamps }) as LogPositions;

  it('is the log end minus the committed offset, aged from the batch at the committed offset', () => {
    expect(partitionLag(40, answer(100, { 40: NOW - 90_500 }), NOW)).toEqual({
      logEndOffset: 100,
      lag: 60,
      lagSeconds: 90.5,
    });
  });

  it('is 0 messages and 0 seconds when caught up or past the end', () => {
    expect(partitionLag(100, answer(100, { 100: null }), NOW)).toEqual({
      logEndOffset: 100,
      lag: 0,
      lagSeconds: 0,
    });
    expect(partitionLag(120, answer(100), NOW)).toEqual({
      logEndOffset: 100,
      lag: 0,
      lagSeconds: 0,
    });
  });

  it('never gives negative seconds (a batch stamped after the sample)', () => {
    expect(partitionLag(0, answer(5, { 0: NOW + 60_000 }), NOW).lagSeconds).toBe(0);
  });

  it('has unknown seconds when no batch holds the committed offset', () => {
    expect(partitionLag(3, answer(10, { 3: null }), NOW)).toEqual({
      logEndOffset: 10,
      lag: 7,
      lagSeconds: null,
    });
  });

  it('is unknown when the owner could not tell, or nothing was committed', () => {
    const unknown = { logEndOffset: null, lag: null, lagSeconds: null };
    expect(partitionLag(3, { topic: 't', partition: 0, error: 'OWNER_UNREACHABLE' }, NOW)).toEqual(
      unknown,
    );
    expect(partitionLag(3, undefined, NOW)).toEqual(unknown);
    expect(partitionLag(-1, answer(10), NOW)).toEqual({
      logEndOffset: 10,
      lag: null,
      lagSeconds: null,
    });
  });
});

describe('LagSampler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks once per sample, one query per partition with every committed offset on it', async () => {
    const a = group('a', [
      ['orders', 0, 10],
      ['orders', 1, 5],
    ]);
    const b = group('b', [
      ['orders', 0, 7],
      [full('payments'), 0, 3],
    ]);
    const reader = owners(
      { [`${full('orders')}/0`]: 12, [`${full('orders')}/1`]: 5, [`${full('payments')}/0`]: 9 },
      (topic, partition, offset) => NOW - 1000 * (offset + 1),
    );
    const sampler = new LagSampler({
      groups: holding([a, b]),
      positions: reader,
      fullTopicName: (t) => (t.startsWith('persistent://') ? t : full(t)),
      intervalMs: 10_000,
      logger: silent,
      now: () => NOW,
    });
    await sampler.sample();
    expect(reader.calls).toHaveLength(1);
    const queries = [...reader.calls[0]].sort((x, y) =>
      `${x.topic}/${x.partition}`.localeCompare(`${y.topic}/${y.partition}`),
    );
    expect(queries).toEqual([
      { topic: full('orders'), partition: 0, timestampsAt: [10, 7] },
      { topic: full('orders'), partition: 1, timestampsAt: [5] },
      { topic: full('payments'), partition: 0, timestampsAt: [3] },
    ]);
    expect(sampler.lagOf('a')).toEqual([
      {
        topic: full('orders'),
        partition: 0,
        committedOffset: 10,
        logEndOffset: 12,
        lag: 2,
        lagSeconds: 11,
        sampledAt: NOW,
      },
      {
        topic: full('orders'),
        partition: 1,
        committedOffset: 5,
        logEndOffset: 5,
        lag: 0,
        lagSeconds: 0,
        sampledAt: NOW,
      },
    ]);
    expect(sampler.lagOf('b')?.map((l) => [l.topic, l.lag, l.lagSeconds])).toEqual([
      [full('orders'), 5, 8],
      [full('payments'), 6, 4],
    ]);
    expect(sampler.partitionLagOf(b, full('payments'), 0)?.lag).toBe(6);
    expect(sampler.partitionLagOf(b, 'orders', 0)?.lag).toBe(5);
    expect(sampler.lagOf('c')).toBeUndefined();
  });

  it('shows no sample for a group it no longer holds, or holds as another object', async () => {
    const coordinator = holding([group('a', [['orders', 0, 1]]), group('b', [['orders', 0, 1]])]);
    const sampler = new LagSampler({
      groups: coordinator,
      positions: owners({ [`${full('orders')}/0`]: 3 }, () => NOW),
      fullTopicName: full,
      intervalMs: 10_000,
      logger: silent,
      now: () => NOW,
    });
    await sampler.sample();
    expect(sampler.lagOf('a')?.[0].lag).toBe(2);
    // 'a' unloaded (its partition moved); 'b' lost and loaded again: a new object.
    coordinator.groups = [group('b', [['orders', 0, 1]])];
    expect(sampler.lagOf('a')).toBeUndefined();
    expect(sampler.lagOf('b')).toBeUndefined();
    expect(sampler.partitionLagOf(coordinator.groups[0], 'orders', 0)).toBeUndefined();
  });

  it('drops a group lost while the positions were being read', async () => {
    const coordinator = holding([group('a', [['orders', 0, 1]])]);
    const reader = owners({ [`${full('orders')}/0`]: 3 }, () => NOW);
    const sampler = new LagSampler({
      groups: coordinator,
      positions: {
        async read(queries) {
          coordinator.groups = [];
          return reader.read(queries);
        },
      },
      fullTopicName: full,
      intervalMs: 10_000,
      logger: silent,
      now: () => NOW,
    });
    await sampler.sample();
    coordinator.groups = [];
    expect(sampler.lagOf('a')).toBeUndefined();
  });

  it('never overlaps samples: the next starts an interval after the slow one ends', async () => {
    vi.useFakeTimers();
    const pending: (() => void)[] = [];
    const reader = owners({ [`${full('orders')}/0`]: 3 }, () => NOW);
    let reads = 0;
    const sampler = new LagSampler({
      groups: holding([group('a', [['orders', 0, 1]])]),
      positions: {
        read(queries) {
          reads++;
          return new Promise((resolve) => pending.push(() => resolve(reader.read(queries))));
        },
      },
      fullTopicName: full,
      intervalMs: 1000,
      logger: silent,
      now: () => NOW,
    });
    sampler.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(reads).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(reads).toBe(1);
    // The owner takes ten intervals to answer: nothing else starts meanwhile.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(reads).toBe(1);
    // A sample asked for meanwhile joins the one in progress.
    const joined = sampler.sample();
    expect(reads).toBe(1);
    pending.shift()!();
    await joined;
    expect(sampler.lagOf('a')?.[0].lag).toBe(2);
    await vi.advanceTimersByTimeAsync(999);
    expect(reads).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(reads).toBe(2);
    pending.shift()!();
    await sampler.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(reads).toBe(2);
    expect(sampler.lagOf('a')).toBeUndefined();
  });

  it('keeps sampling after a sample fails', async () => {
    vi.useFakeTimers();
    let reads = 0;
    const sampler = new LagSampler({
      groups: holding([group('a', [['orders', 0, 1]])]),
      positions: {
        async read() {
          reads++;
          throw new Error('boom');
        },
      },
      fullTopicName: full,
      intervalMs: 1000,
      logger: silent,
      now: () => NOW,
    });
    sampler.start();
    await vi.advanceTimersByTimeAsync(3000);
    expect(reads).toBe(3);
    await sampler.stop();
  });
});
