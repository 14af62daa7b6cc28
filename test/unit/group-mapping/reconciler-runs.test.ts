/**
 * What the reconciler remembers of its passes (the admin API's /admin/v1/reconciler): per pass,
 * when it began, how long it took, what it repaired, corrected and removed, whether it ran out of
 * budget and why it failed; the latest RECENT_RUNS passes only.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MappingCache } from '../../../plugins/kafka/group-mapping/node-cache.js';
import { encodeNode, type GroupEntry } from '../../../plugins/kafka/group-mapping/node-codec.js';
import { MappingReconciler, RECENT_RUNS } from '../../../plugins/kafka/group-mapping/reconciler.js';
import { ErrorCode } from '../../../plugins/kafka/protocol/index.js';
import { startJoin, syncParams } from '../coordinator/helpers.js';
import { HOST, ROOT, consumerAssignment, coordinatorSide, logger } from './helpers.js';

const caches: MappingCache[] = [];
afterEach(() => {
  for (const c of caches.splice(0)) c.close();
});

function setUp(opsPerSecond = 10_000, intervalMs = 60_000) {
  const side = coordinatorSide();
  caches.push(side.cache);
  const reconciler = new MappingReconciler({
    store: side.store,
    root: ROOT,
    cache: side.cache,
    lifecycle: side.lifecycle,
    coordinator: side.h.coordinator,
    intervalMs,
    opsPerSecond,
    orphanGraceMs: 0,
    isShuttingDown: () => false,
    logger,
    stats: side.stats,
  });
  const put = (clientId: string, groups: Record<string, GroupEntry>) =>
    side.frontStore.put(
      `${ROOT}/${HOST}-${clientId}`,
      encodeNode({ groups: new Map(Object.entries(groups)) }),
    );
  return { ...side, reconciler, put };
}

const old = (token: string, assigned: GroupEntry['assigned'] = null): GroupEntry => ({
  token,
  broker: 0,
  at: 1,
  assigned,
});

describe("the reconciler's recent runs", () => {
  it('say what each pass repaired, corrected and removed', async () => {
    const { h, store, reconciler, front, settle, put, node } = setUp();
    await front.record({ clientHost: HOST, clientId: 'c' }, ['g']);
    const { answer } = await startJoin(h, { groupId: 'g', clientId: 'c', clientHost: `/${HOST}` });
    await h.clock.advance(1);
    const joined = await answer;
    const assignment = consumerAssignment({ orders: [0] });
    const sync = await h.coordinator.syncGroup(
      syncParams(joined, {
        groupId: 'g',
        assignments: [{ memberId: joined.memberId, assignment }],
      }),
    );
    expect(sync.errorCode).toBe(ErrorCode.NONE);
    await settle();
    const before = Date.now();
    // Two entries nobody accounts for; none to repair or correct.
    await put('ghost', { g: old('1'), nope: old('2') });
    await settle();
    await reconciler.pass();
    await settle();

    // The member's entry vanishes while the store refuses this broker's writes: the
    // coordinator's own repair fails, the next pass re-creates it (and removes the entry of
    // group `other` written in its place, which nobody accounts for).
    const put_ = store.put.bind(store);
    store.put = () => Promise.reject(new Error('no quorum'));
    await put('c', { other: old('x') });
    await settle();
    store.put = put_;
    await reconciler.pass();
    await settle();

    // A wrong assignment in the member's entry: corrected.
    const token = (await node('c'))!.groups.get('g')!.token;
    await put('c', { g: old(token, new Map([['persistent://public/default/orders', [5]]])) });
    await settle();
    await reconciler.pass();

    const runs = reconciler.recentRuns();
    expect(
      runs.map(({ repairs, corrections, orphansRemoved, stoppedEarly, errors }) => ({
        repairs,
        corrections,
        orphansRemoved,
        stoppedEarly,
        errors,
      })),
    ).toEqual([
      { repairs: 0, corrections: 0, orphansRemoved: 2, stoppedEarly: false, errors: [] },
      { repairs: 1, corrections: 0, orphansRemoved: 1, stoppedEarly: false, errors: [] },
      { repairs: 0, corrections: 1, orphansRemoved: 0, stoppedEarly: false, errors: [] },
    ]);
    expect(runs[0].startedAt).toBeGreaterThanOrEqual(before);
    expect(runs[1].startedAt).toBeGreaterThanOrEqual(runs[0].startedAt + runs[0].durationMs);
    expect(runs[2].startedAt).toBeLessThanOrEqual(Date.now());
  });

  it('say when a pass ran out of budget, and why one failed', async () => {
    // 20 a second over 100 ms: 2 operations a pass, the list and one node's read.
    const { store, reconciler, put } = setUp(20, 100);
    for (const id of ['a', 'b']) await put(id, { nope: old(id) });
    await reconciler.pass();
    store.fault = 'fail';
    await reconciler.pass();
    store.fault = 'ok';
    const [outOfBudget, failed] = reconciler.recentRuns();
    expect(outOfBudget).toMatchObject({ orphansRemoved: 0, stoppedEarly: true, errors: [] });
    expect(failed.errors).toEqual(['children: no ZooKeeper']);
  });

  it(`keep the latest ${RECENT_RUNS} passes`, async () => {
    const { reconciler, put } = setUp();
    await put('ghost', { nope: old('1') });
    await reconciler.pass();
    for (let i = 0; i < RECENT_RUNS + 2; i++) await reconciler.pass();
    const runs = reconciler.recentRuns();
    expect(runs).toHaveLength(RECENT_RUNS);
    // The first pass, the one that removed the orphan, is gone.
    expect(runs.map((r) => r.orphansRemoved)).toEqual(Array(RECENT_RUNS).fill(0));
  });
});
