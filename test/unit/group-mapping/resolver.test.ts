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
  options: { pendingLimitMs?: number; assignmentWaitMs?: number; maxEntries?: number } = {},
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

  it('answers null for a client without a node, once the lookup said so', async () => {
    const { a } = stores();
    const { r } = resolver(a);
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBeUndefined();
    await flush();
    expect(r.groupOf(CLIENT, 1, 'orders', 0)).toBeNull();
  });

  it('follows changes another broker makes, without asking the store again', async () => {
    const { a, b } = stores();
    const { r, changes } = resolver(a);
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

    it('answers the one group whose assignment is not published yet when none claims it', async () => {
      const { a, b } = stores();
      await write(b, { ga: entry('a', 2, { [ORDERS]: [0] }), gb: entry('b', 1) });
      const { r } = resolver(a);
      r.groupOf(CLIENT, 1, 'orders', 5);
      await flush();
      expect(r.groupOf(CLIENT, 1, 'orders', 5)).toBe('gb');
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
  });
});
