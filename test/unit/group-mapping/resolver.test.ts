/**
 * The fetch path's resolver (`coordinator` policy): it never waits, learns answers in the
 * background and says so with onChange, holds answers for a client whose node vanished, and tells
 * the groups of one client id apart by their published assignments.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MappingCache } from '../../../plugins/kafka/group-mapping/node-cache.js';
import {
  encodeNode,
  type GroupEntry,
  type MappingNode,
} from '../../../plugins/kafka/group-mapping/node-codec.js';
import { MappingResolver } from '../../../plugins/kafka/group-mapping/resolver.js';
import { newGroupMappingStats } from '../../../plugins/kafka/group-mapping/stats.js';
import type { ClientKey } from '../../../plugins/kafka/group-mapping/types.js';
import { FetchStats } from '../../../plugins/kafka/stats/fetch-stats.js';
import { buildBatch } from '../../helpers/record-batches.js';
import { waitFor } from '../../helpers/wait.js';
import { FaultyStore, ROOT, flush, logger, stores } from './helpers.js';

const CLIENT = { clientHost: '10.0.0.1', clientId: 'kafkajs' };
const PATH = `${ROOT}/10.0.0.1-kafkajs`;
const ORDERS = 'persistent://public/default/orders';
const fullTopicName = (t: string) =>
  t.startsWith('persistent://') ? t : `persistent://public/default/${t}`;

const caches: MappingCache[] = [];
afterEach(() => {
  for (const c of caches.splice(0)) c.close();
});

function resolver(
  store: FaultyStore,
  options: {
    pendingLimitMs?: number;
    assignmentWaitMs?: number;
    absentGraceMs?: number;
    maxEntries?: number;
  } = {},
) {
  const stats = newGroupMappingStats();
  const cache = new MappingCache({
    store,
    root: ROOT,
    logger,
    stats,
    maxEntries: options.maxEntries,
  });
  caches.push(cache);
  const r = new MappingResolver({ cache, stats, fullTopicName, ...options });
  const changes: ClientKey[] = [];
  r.onChange((c) => changes.push(c));
  return { r, cache, stats, changes };
}

/** Messages counted for orders[partition] under `group` (null: none). */
function counted(fetch: FetchStats, partition: number, group: string | null): number {
  let total = 0;
  for (const series of fetch.consumed.values()) {
    const { labels } = series;
    if (labels.topic === ORDERS && labels.partition === String(partition)) {
      if ((labels.group ?? null) === group) total += series.messages;
    }
  }
  return total;
}

/** `count` records in one batch, as a fetch returns them. */
function records(count: number): Buffer {
  return buildBatch({ baseOffset: 0, recordCount: count });
}

function entry(token: string, at: number, assigned?: Record<string, number[]>): GroupEntry {
  return { token, broker: 0, at, assigned: assigned ? new Map(Object.entries(assigned)) : null };
}

function write(store: FaultyStore, groups: Record<string, GroupEntry>, path = PATH) {
  const node: MappingNode = { groups: new Map(Object.entries(groups)) };
  return store.put(path, encodeNode(node));
}

describe('the resolver', () => {
  it('answers undefined on a miss, looks the node up in the background, then tells and answers', async () => {
    const { a, b } = stores();
    await write(b, { g1: entry('t', 1) });
    const { r, changes } = resolver(a);
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBeUndefined();
    await flush();
    expect(changes).toEqual([CLIENT]);
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBe('g1');
  });

  it('answers null for a client without a node once the absent grace passed, and says so', async () => {
    const { a } = stores();
    const { r, changes } = resolver(a, { absentGraceMs: 200 });
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBeUndefined();
    await flush();
    // Read and found absent: the FindCoordinator write it raced may still land.
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBeUndefined();
    changes.length = 0;
    await waitFor('the absent grace to end', () => changes.length > 0, 2000);
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBeNull();
    // Final: no new wait starts for that node.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBeNull();
  });

  it('answers the group of a write that lands after the first read found the node absent', async () => {
    const { a, b } = stores();
    const { r } = resolver(a, { absentGraceMs: 60_000 });
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBeUndefined();
    await flush();
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBeUndefined();
    // The FindCoordinator write, through another broker, lands now.
    await write(b, { g1: entry('t', 1) });
    await flush();
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBe('g1');
  });

  it('has the fetch counts of a client whose write lands late attributed to its group', async () => {
    const { a, b } = stores();
    const { r } = resolver(a, { absentGraceMs: 60_000 });
    const fetch = new FetchStats(r);
    const late = { clientHost: '10.0.0.1', clientId: 'late' };
    const assigning = { clientHost: '10.0.0.2', clientId: 'assign' };
    fetch.fetched(late, 1, ORDERS, 0, records(3));
    await flush();
    fetch.fetched(late, 1, ORDERS, 0, records(2));
    await write(b, { g1: entry('t', 1) }, `${ROOT}/10.0.0.1-late`);
    await flush();
    expect(counted(fetch, 0, 'g1')).toBe(5);
    expect(counted(fetch, 0, null)).toBe(0);
    expect(fetch.unattributedMessages).toBe(0);
    fetch.close();

    // A consumer using assign() (no group, never a node) is counted without a group after the grace.
    const quick = resolver(a, { absentGraceMs: 100 });
    const fetch2 = new FetchStats(quick.r);
    fetch2.fetched(assigning, 2, ORDERS, 1, records(4));
    await flush();
    fetch2.fetched(assigning, 2, ORDERS, 1, records(1));
    expect(counted(fetch2, 1, null)).toBe(0);
    await waitFor('the grace to end', () => fetch2.awaitingMessages === 0, 2000);
    expect(counted(fetch2, 1, null)).toBe(5);
    expect(fetch2.unattributedMessages).toBe(0);
    fetch2.close();
  });

  it('follows changes another broker makes, without asking the store again', async () => {
    const { a, b } = stores();
    const { r, changes } = resolver(a, { absentGraceMs: 0 });
    r.groupOf(CLIENT, 1, 'orders', 0);
    await flush();
    a.calls.length = 0;
    for (let i = 0; i < 100; i++) expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBeNull();
    expect(a.calls).toEqual([]);
    await write(b, { g1: entry('t', 1) });
    await flush();
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBe('g1');
    expect(changes.length).toBeGreaterThanOrEqual(2);
  });

  it('keeps a known client pending while its node is gone, until it comes back or the limit passes', async () => {
    const { a, b } = stores();
    const { r, changes } = resolver(a, { pendingLimitMs: 300 });
    await write(b, { g1: entry('t1', 1) });
    r.groupOf(CLIENT, 1, 'orders', 0);
    await flush();
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBe('g1');

    await b.delete(PATH);
    await flush();
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBeUndefined();
    await write(b, { g1: entry('t2', 2) });
    await flush();
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBe('g1');

    await b.delete(PATH);
    await flush();
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBeUndefined();
    changes.length = 0;
    // Past the limit the answer is null, and the listeners are told so.
    await waitFor('the pending answer to expire', () => changes.length > 0, 2000);
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBeNull();
  });

  it('retries a failed lookup and answers once the store is back', async () => {
    const { a, b } = stores();
    await write(b, { g1: entry('t', 1) });
    const { r, stats, changes } = resolver(a);
    a.fault = 'fail';
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBeUndefined();
    await flush();
    expect(stats.lookupFailures).toBe(1);
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBeUndefined();
    a.fault = 'ok';
    await waitFor('the retried lookup', () => changes.length > 0, 2000);
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBe('g1');
  });

  describe('for a client id shared by several groups', () => {
    it('answers the group whose assignment holds the fetched partition', async () => {
      const { a, b } = stores();
      await write(b, {
        ga: entry('a', 2, { [ORDERS]: [0, 1] }),
        gb: entry('b', 1, { [ORDERS]: [2], 'persistent://t/n/x': [0] }),
      });
      const { r, stats } = resolver(a);
      r.groupOf(CLIENT, 1, 'orders', 0);
      await flush();
      expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBe('ga');
      expect(r.groupOf(CLIENT, 1, ORDERS, 1)).toBe('ga');
      expect(r.groupOf(CLIENT, 1, 'orders', 2)).toBe('gb');
      expect(r.groupOf(CLIENT, 1, 'persistent://t/n/x', 0)).toBe('gb');
      expect(stats.ambiguousAnswers).toBe(0);
    });

    it('waits for the publish of a group whose assignment is not published yet', async () => {
      const { a, b } = stores();
      await write(b, { ga: entry('a', 2, { [ORDERS]: [0] }), gb: entry('b', 1) });
      const { r, stats } = resolver(a);
      r.groupOf(CLIENT, 1, 'orders', 5);
      await flush();
      expect(r.groupOf(CLIENT, 1, 'orders', 5)).toBeUndefined();
      await write(b, {
        ga: entry('a', 2, { [ORDERS]: [0] }),
        gb: entry('b', 1, { [ORDERS]: [5] }),
      });
      await flush();
      expect(r.groupOf(CLIENT, 1, 'orders', 5)).toBe('gb');
      expect(stats.ambiguousAnswers).toBe(0);
    });

    it('waits from when the partition was first fetched unclaimed, not from the last change of the node', async () => {
      const { a, b } = stores();
      // Published long ago; the consumer of g2 was just given B-1, not published yet.
      await write(b, {
        g1: entry('1', 2000, { 'persistent://public/default/A': [0] }),
        g2: entry('2', 1000, { 'persistent://public/default/B': [0] }),
      });
      const { r, cache, stats, changes } = resolver(a, { assignmentWaitMs: 200 });
      r.groupOf(CLIENT, 7, 'B', 0);
      await flush();
      cache.find(CLIENT)!.changedAt = Date.now() - 60_000;
      expect(r.groupOf(CLIENT, 7, 'B', 1)).toBeUndefined();
      changes.length = 0;
      await waitFor('the assignment wait to end', () => changes.length > 0, 2000);
      // The group that consumes the topic, not the most recently written one.
      expect(r.groupOf(CLIENT, 7, 'B', 1)).toBe('g2');
      expect(stats.ambiguousAnswers).toBe(1);
    });

    it("does not take an old unpublished entry (an admin tool's lookup) for a consumer's group", async () => {
      const { a, b } = stores();
      const A = 'persistent://public/default/A';
      // kafkajs's admin fetchOffsets('g9') with the same default client id wrote g9.
      await write(b, { g1: entry('1', 1000, { [A]: [0] }), g9: entry('9', 2000) });
      const { r, stats, changes } = resolver(a, { assignmentWaitMs: 200 });
      r.groupOf(CLIENT, 7, 'A', 1);
      await flush();
      expect(r.groupOf(CLIENT, 7, 'A', 1)).toBeUndefined();
      changes.length = 0;
      await waitFor('the assignment wait to end', () => changes.length > 0, 2000);
      expect(r.groupOf(CLIENT, 7, 'A', 1)).toBe('g1');
      // Nor for a topic no group's assignment holds: the published group then.
      await write(b, { g1: entry('1', 1000, { [A]: [0] }), g9: entry('9', Date.now() - 60_000) });
      await flush();
      r.groupOf(CLIENT, 7, 'C', 0);
      changes.length = 0;
      await waitFor('the assignment wait to end', () => changes.length > 0, 2000);
      expect(r.groupOf(CLIENT, 7, 'C', 0)).toBe('g1');
      expect(stats.ambiguousAnswers).toBe(2);
    });

    it('takes a recent unpublished entry when no assignment holds the topic', async () => {
      const { a, b } = stores();
      await write(b, {
        g1: entry('1', Date.now() + 1000, { 'persistent://public/default/A': [0] }),
        g3: entry('3', Date.now()),
      });
      const { r, changes } = resolver(a, { assignmentWaitMs: 200 });
      r.groupOf(CLIENT, 7, 'C', 0);
      await flush();
      expect(r.groupOf(CLIENT, 7, 'C', 0)).toBeUndefined();
      changes.length = 0;
      await waitFor('the assignment wait to end', () => changes.length > 0, 2000);
      expect(r.groupOf(CLIENT, 7, 'C', 0)).toBe('g3');
    });

    it('does not restart the wait when the node changes meanwhile', async () => {
      const { a, b } = stores();
      const groups = {
        g1: entry('1', 1000, { [ORDERS]: [0] }),
        g2: entry('2', 2000, { 'persistent://public/default/B': [0] }),
      };
      await write(b, groups);
      const { r } = resolver(a, { assignmentWaitMs: 300 });
      r.groupOf(CLIENT, 7, 'orders', 1);
      await flush();
      const started = Date.now();
      expect(r.groupOf(CLIENT, 7, 'orders', 1)).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 150));
      // Another client's lookup with the same client id rewrites the node.
      await write(b, { ...groups, g9: entry('9', Date.now()) });
      await flush();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + 350 - Date.now())));
      expect(r.groupOf(CLIENT, 7, 'orders', 1)).toBe('g1');
    });

    it('waits for an assignment when none claims the partition, then picks deterministically and counts it', async () => {
      const { a, b } = stores();
      await write(b, {
        ga: entry('a', 1, { [ORDERS]: [0] }),
        gb: entry('b', 2, { [ORDERS]: [1] }),
      });
      const { r, stats, changes } = resolver(a, { assignmentWaitMs: 200 });
      r.groupOf(CLIENT, 1, 'orders', 7);
      await flush();
      expect(r.groupOf(CLIENT, 1, 'orders', 7)).toBeUndefined();
      changes.length = 0;
      await waitFor('the assignment wait to end', () => changes.length > 0, 2000);
      // The most recently written entry.
      expect(r.groupOf(CLIENT, 1, 'orders', 7)).toBe('gb');
      expect(stats.ambiguousAnswers).toBe(1);
    });

    it('breaks a tie between groups that both claim the partition by the connection, else by recency', async () => {
      const { a, b } = stores();
      await write(b, {
        ga: entry('a', 1, { [ORDERS]: [0] }),
        gb: entry('b', 2, { [ORDERS]: [0] }),
      });
      const { r, stats } = resolver(a);
      r.groupOf(CLIENT, 1, 'orders', 0);
      await flush();
      r.noteFindCoordinator(5, ['ga']);
      expect(r.groupOf(CLIENT, 5, 'orders', 0)).toBe('ga');
      expect(stats.ambiguousAnswers).toBe(0);
      expect(r.groupOf(CLIENT, 6, 'orders', 0)).toBe('gb');
      expect(stats.ambiguousAnswers).toBe(1);
      r.connectionClosed(CLIENT, 5);
      expect(r.groupOf(CLIENT, 5, 'orders', 0)).toBe('gb');
    });
  });

  it('keeps at most maxEntries nodes, least recently used first, pinned ones always', async () => {
    const { a } = stores();
    const { r, cache } = resolver(a, { maxEntries: 2 });
    const client = (i: number) => ({ clientHost: '10.0.0.1', clientId: `c${i}` });
    cache.pin(client(0));
    r.groupOf(client(1), 1, 'orders', 0);
    r.groupOf(client(2), 1, 'orders', 0);
    r.groupOf(client(3), 1, 'orders', 0);
    expect(cache.size).toBe(2);
    expect(cache.find(client(0))).toBeDefined();
    expect(cache.find(client(3))).toBeDefined();
    await flush();
    // What leaves the cache is no longer watched.
    expect(a.unwatched).toEqual([`${ROOT}/10.0.0.1-c1`, `${ROOT}/10.0.0.1-c2`]);
  });
});
