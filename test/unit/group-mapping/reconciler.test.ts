/**
 * The reconciler: it repairs what the coordinator's own updates missed, removes entries no live
 * member accounts for once they are old enough (but not an Empty group's), and keeps to its
 * budget of store operations, resuming where it stopped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { GroupEventListener } from '../../../plugins/kafka/coordinator/types.js';
import { CoordinatorLifecycle } from '../../../plugins/kafka/group-mapping/lifecycle.js';
import { MappingCache } from '../../../plugins/kafka/group-mapping/node-cache.js';
import { encodeNode, type GroupEntry } from '../../../plugins/kafka/group-mapping/node-codec.js';
import { MappingReconciler } from '../../../plugins/kafka/group-mapping/reconciler.js';
import { newGroupMappingStats } from '../../../plugins/kafka/group-mapping/stats.js';
import { ErrorCode } from '../../../plugins/kafka/protocol/index.js';
import { harness, startJoin, syncParams } from '../coordinator/helpers.js';
import {
  HOST,
  ROOT,
  consumerAssignment,
  coordinatorSide,
  flush,
  fullTopicName,
  logger,
  readNode,
  stores,
} from './helpers.js';

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
    // One-off reads: the scan leaves this broker watching neither the root nor the nodes.
    expect(store.reads.filter((r) => r.watch)).toEqual([]);
    expect(stats.orphansRemoved).toBe(3);
    for (const id of ['a', 'b', 'c']) expect(await node(id)).toBeNull();
  });
});

/**
 * A coordinator reduced to what the mapping asks of it: one Stable consumer group `g` whose one
 * member (client `c`) has the assignment the test sets, and its group events.
 */
function scripted() {
  let assignment = consumerAssignment({ orders: [0, 1] });
  let generationId = 5;
  let events: GroupEventListener = {};
  const member = () => ({ memberId: 'm1', clientId: 'c', clientHost: `/${HOST}`, assignment });
  const coordinator = {
    describeGroups: (ids: string[]) =>
      ids.map((groupId) => ({
        groupId,
        errorCode: 0,
        state: 'Stable',
        protocolType: 'consumer',
        protocol: 'range',
        members: [{ ...member(), groupInstanceId: null, metadata: Buffer.alloc(0) }],
      })),
    listGroups: () => ({ errorCode: 0, groups: [{ groupId: 'g', protocolType: 'consumer' }] }),
    onMemberRemoved: () => () => undefined,
    onGroupEvents: (listener: GroupEventListener) => {
      events = listener;
      return () => undefined;
    },
  };
  /** A rebalance completes with a new assignment. */
  const rebalance = (topics: Record<string, number[]>) => {
    assignment = consumerAssignment(topics);
    generationId++;
    events.assignmentCompleted!({
      groupId: 'g',
      generationId,
      protocolType: 'consumer',
      members: [{ groupId: 'g', ...member() }],
    });
  };
  return { coordinator, rebalance };
}

describe('the reconciler and a rebalance that completes during its pass', () => {
  it('does not overwrite the newer assignment with the one it computed before waiting for its budget', async () => {
    const { a: store, b: front } = stores();
    const { coordinator, rebalance } = scripted();
    const stats = newGroupMappingStats();
    const cache = new MappingCache({ store, root: ROOT, logger, stats });
    caches.push(cache);
    const options = { store, root: ROOT, cache, logger, stats, isShuttingDown: () => false };
    const lifecycle = new CoordinatorLifecycle({
      ...options,
      brokerId: 1,
      coordinator: coordinator as never,
      fullTopicName,
    });
    // 5 operations a second: the pass's write waits 200 ms for its budget.
    const reconciler = new MappingReconciler({
      ...options,
      lifecycle,
      coordinator: coordinator as never,
      intervalMs: 60_000,
      opsPerSecond: 5,
      orphanGraceMs: 600_000,
    });
    const path = `${ROOT}/${HOST}-c`;
    const stale = new Map([[fullTopicName('orders'), [7]]]);
    await front.put(
      path,
      encodeNode({ groups: new Map([['g', { token: 't', broker: 0, at: 1, assigned: stale }]]) }),
    );
    cache.get({ clientHost: HOST, clientId: 'c' });
    await flush();

    const pass = reconciler.pass();
    await new Promise((resolve) => setTimeout(resolve, 50));
    rebalance({ orders: [2, 3] });
    await lifecycle.drain();
    await pass;
    await lifecycle.drain();
    const entry = (await readNode(store, path))!.groups.get('g')!;
    expect(Object.fromEntries(entry.assigned!)).toEqual({ [fullTopicName('orders')]: [2, 3] });
    reconciler.stop();
    lifecycle.stop();
  });

  it('leaves a node alone while a publish for it is queued', async () => {
    const { a: store } = stores();
    const { coordinator, rebalance } = scripted();
    const stats = newGroupMappingStats();
    const cache = new MappingCache({ store, root: ROOT, logger, stats });
    caches.push(cache);
    const lifecycle = new CoordinatorLifecycle({
      store,
      root: ROOT,
      cache,
      logger,
      stats,
      isShuttingDown: () => false,
      brokerId: 1,
      coordinator: coordinator as never,
      fullTopicName,
    });
    await flush();
    store.fault = 'hang';
    rebalance({ orders: [1] });
    const [desired] = lifecycle.desiredClients('g');
    const outcome = await Promise.race([
      lifecycle.reconcile(desired, 'g'),
      new Promise((resolve) => setTimeout(() => resolve('queued behind the publish'), 100)),
    ]);
    expect(outcome).toBe('unchanged');
    store.release();
    await lifecycle.drain();
    expect((await readNode(store, `${ROOT}/${HOST}-c`))!.groups.get('g')!.assigned).toEqual(
      new Map([[fullTopicName('orders'), [1]]]),
    );
    lifecycle.stop();
  });
});
