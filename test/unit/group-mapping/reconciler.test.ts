/**
 * The reconciler: it repairs what the coordinator's own updates missed, removes entries no live
 * member accounts for once they are old enough (but not an Empty group's), and keeps to its
 * budget of store operations, resuming where it stopped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MappingCache } from '../../../plugins/kafka/group-mapping/node-cache.js';
import { encodeNode, type GroupEntry } from '../../../plugins/kafka/group-mapping/node-codec.js';
import { MappingReconciler } from '../../../plugins/kafka/group-mapping/reconciler.js';
import { ErrorCode } from '../../../plugins/kafka/protocol/index.js';
import { harness, startJoin, syncParams } from '../coordinator/helpers.js';
import { HOST, ROOT, consumerAssignment, coordinatorSide, logger } from './helpers.js';

const ORDERS = 'persistent://public/default/orders';

const caches: MappingCache[] = [];
afterEach(() => {
  for (const c of caches.splice(0)) c.close();
});

function setUp(options: { opsPerSecond?: number; intervalMs?: number; graceMs?: number } = {}) {
  const side = coordinatorSide();
  caches.push(side.cache);
  const { store, frontStore, h, cache, lifecycle, stats } = side;
  const reconciler = new MappingReconciler({
    store,
    root: ROOT,
    cache,
    lifecycle,
    coordinator: h.coordinator,
    intervalMs: options.intervalMs ?? 60_000,
    opsPerSecond: options.opsPerSecond ?? 10_000,
    orphanGraceMs: options.graceMs ?? 0,
    isShuttingDown: () => false,
    logger,
    stats,
  });
  const put = (clientId: string, groups: Record<string, GroupEntry>) =>
    frontStore.put(
      `${ROOT}/${HOST}-${clientId}`,
      encodeNode({ groups: new Map(Object.entries(groups)) }),
    );
  return { ...side, reconciler, put };
}

/** One member of group `g`, client `c`, assigned orders[0]. */
async function member(h: ReturnType<typeof harness>, clientId = 'c', groupId = 'g') {
  const { answer } = await startJoin(h, { groupId, clientId, clientHost: `/${HOST}` });
  await h.clock.advance(1);
  const joined = await answer;
  const sync = await h.coordinator.syncGroup(
    syncParams(joined, {
      groupId,
      assignments: [{ memberId: joined.memberId, assignment: consumerAssignment({ orders: [0] }) }],
    }),
  );
  expect(sync.errorCode).toBe(ErrorCode.NONE);
  return joined;
}

const old = (token: string): GroupEntry => ({ token, broker: 0, at: 1, assigned: null });

describe('the reconciler', () => {
  it('re-creates an entry its repair missed and corrects a wrong assignment', async () => {
    const { h, store, stats, reconciler, front, settle, node, put } = setUp({ graceMs: 60_000 });
    await front.record({ clientHost: HOST, clientId: 'c' }, ['g']);
    await member(h);
    await settle();
    // The entry vanishes while the store refuses this broker's writes: the repair fails.
    const put_ = store.put.bind(store);
    store.put = () => Promise.reject(new Error('no quorum'));
    await put('c', { other: old('x') });
    await settle();
    store.put = put_;
    expect(stats).toMatchObject({ repairs: 0, coordinatorFailures: 1 });
    expect((await node('c'))!.groups.has('g')).toBe(false);
    await reconciler.pass();
    await settle();
    expect(Object.fromEntries((await node('c'))!.groups.get('g')!.assigned!)).toEqual({
      [ORDERS]: [0],
    });
    expect(stats.repairs).toBe(1);

    const token = (await node('c'))!.groups.get('g')!.token;
    await put('c', { g: { token, broker: 0, at: 1, assigned: new Map([[ORDERS, [5]]]) } });
    await settle();
    await reconciler.pass();
    expect((await node('c'))!.groups.get('g')!.assigned!.get(ORDERS)).toEqual([0]);
    expect((await node('c'))!.groups.get('g')!.token).toBe(token);
    expect(stats).toMatchObject({ corrections: 1, reconcilePasses: 2 });
  });

  it("removes old entries no live member accounts for, and keeps an Empty group's", async () => {
    const { h, stats, reconciler, front, settle, node, put } = setUp();
    await front.record({ clientHost: HOST, clientId: 'c' }, ['g']);
    await member(h);
    // A consumer outside group management commits to group 'e' (Empty, with offsets).
    await h.coordinator.commitOffsets({
      groupId: 'e',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      offsets: [{ topic: 'orders', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }],
    });
    await put('ghost', { g: old('1'), e: old('2'), nope: old('3') });
    await settle();
    await reconciler.pass();
    await settle();
    expect([...(await node('ghost'))!.groups.keys()]).toEqual(['e']);
    expect((await node('c'))!.groups.has('g')).toBe(true);
    expect(stats.orphansRemoved).toBe(2);
  });

  it('leaves entries younger than the grace period', async () => {
    const { h, reconciler, front, settle, node } = setUp({ graceMs: 60_000 });
    await front.record({ clientHost: HOST, clientId: 'admin' }, ['g']);
    await member(h);
    await settle();
    await reconciler.pass();
    expect((await node('admin'))!.groups.has('g')).toBe(true);
  });

  it('keeps to its budget of store operations a pass, and resumes where it stopped', async () => {
    // 40 a second over 100 ms: 4 operations a pass, enough for the list and one orphan's node.
    const { store, reconciler, put, node, stats } = setUp({ opsPerSecond: 40, intervalMs: 100 });
    for (const id of ['a', 'b', 'c']) await put(id, { nope: old(id) });
    const passes: string[][] = [];
    for (let i = 0; i < 3; i++) {
      store.calls.length = 0;
      await reconciler.pass();
      passes.push([...store.calls]);
    }
    for (const calls of passes) expect(calls.length).toBeLessThanOrEqual(4);
    expect(passes[0]).toEqual(['children', 'get', 'get', 'delete']);
    expect(stats.orphansRemoved).toBe(3);
    for (const id of ['a', 'b', 'c']) expect(await node(id)).toBeNull();
  });
});
