/**
 * The coordinator's side of the mapping (`coordinator` policy), driven through a real group
 * coordinator on a manual clock over an in-memory store: guarded deletes, adoption of a member's
 * own rewrites, assignment publishing, repairs, deleted groups, and no deletes on unload or
 * shutdown.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MappingCache } from '../../../plugins/kafka/group-mapping/node-cache.js';
import type { JoinGroupParams } from '../../../plugins/kafka/coordinator/types.js';
import { ErrorCode } from '../../../plugins/kafka/protocol/index.js';
import {
  SESSION_MS,
  joinParams,
  startJoin,
  syncParams,
  type Harness,
} from '../coordinator/helpers.js';
import {
  HOST,
  ROOT,
  consumerAssignment as assignment,
  coordinatorSide,
  flush,
  fullTopicName,
} from './helpers.js';
import { waitFor } from '../../helpers/wait.js';

const caches: MappingCache[] = [];
afterEach(() => {
  for (const c of caches.splice(0)) c.close();
});

function setUp(options: { shuttingDown?: () => boolean } = {}) {
  const side = coordinatorSide(options);
  caches.push(side.cache);
  return side;
}

interface Joined {
  memberId: string;
  generationId: number;
}

/** Members join and sync; the leader assigns each member its topics. */
async function stable(
  h: Harness,
  members: (Partial<JoinGroupParams> & { topics?: Record<string, number[]> })[],
  groupId = 'g',
): Promise<Joined[]> {
  const parked = [];
  for (const { topics: _t, ...m } of members) {
    parked.push((await startJoin(h, { groupId, clientHost: `/${HOST}`, ...m })).answer);
  }
  await h.clock.advance(h.config.groupInitialRebalanceDelayMs * 2);
  const joins = await Promise.all(parked);
  for (const j of joins) expect(j.errorCode).toBe(ErrorCode.NONE);
  const syncs = joins.map((j) =>
    h.coordinator.syncGroup(
      syncParams(j, {
        groupId,
        assignments:
          j.leader === j.memberId
            ? joins.map((m, i) => ({
                memberId: m.memberId,
                assignment: assignment(members[i].topics ?? {}),
              }))
            : [],
      }),
    ),
  );
  for (const s of await Promise.all(syncs)) expect(s.errorCode).toBe(ErrorCode.NONE);
  return joins;
}

function leave(h: Harness, member: Joined, groupId = 'g') {
  return h.coordinator.leaveGroup({
    groupId,
    members: [{ memberId: member.memberId, groupInstanceId: null, reason: null }],
  });
}

/** A consumer outside group management commits for the group: it exists, Empty. */
async function commitWithoutMembers(h: Harness, groupId: string) {
  await h.coordinator.commitOffsets({
    groupId,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    retentionTimeMs: -1,
    offsets: [{ topic: 'orders', partition: 0, offset: 1, leaderEpoch: -1, metadata: null }],
  });
}

function heartbeat(h: Harness, member: Joined, groupId = 'g') {
  return h.coordinator.heartbeat({ groupId, groupInstanceId: null, ...member });
}

describe('the coordinator lifecycle', () => {
  it('removes the entry of a member that leaves, and the node with its last group', async () => {
    const { h, stats, front, settle, node } = setUp();
    await front.record({ clientHost: HOST, clientId: 'c' }, ['g']);
    const [m] = await stable(h, [{ clientId: 'c' }]);
    await settle();
    expect((await node('c'))?.groups.has('g')).toBe(true);
    await leave(h, m);
    await settle();
    expect(await node('c')).toBeNull();
    expect(stats).toMatchObject({ deletes: 1, deletesRefused: 0 });
  });

  it('publishes what the assignment gives each client, topics by full name', async () => {
    const { h, front, settle, node } = setUp();
    await front.record({ clientHost: HOST, clientId: 'c' }, ['g']);
    await front.record({ clientHost: HOST, clientId: 'd' }, ['g']);
    await stable(h, [
      { clientId: 'c', topics: { orders: [0, 2] } },
      { clientId: 'c', topics: { orders: [1], clicks: [0] } },
      { clientId: 'd', topics: { orders: [3] } },
    ]);
    await settle();
    const c = (await node('c'))!.groups.get('g')!;
    expect(Object.fromEntries(c.assigned!)).toEqual({
      [fullTopicName('orders')]: [0, 1, 2],
      [fullTopicName('clicks')]: [0],
    });
    expect(Object.fromEntries((await node('d'))!.groups.get('g')!.assigned!)).toEqual({
      [fullTopicName('orders')]: [3],
    });
  });

  it('keeps the entry while another live member of the group has the same host and client id', async () => {
    const { h, stats, front, settle, node } = setUp();
    await front.record({ clientHost: HOST, clientId: 'kafkajs' }, ['g']);
    const [m1, m2] = await stable(h, [{ clientId: 'kafkajs' }, { clientId: 'kafkajs' }]);
    await settle();
    await leave(h, m1);
    await settle();
    expect((await node('kafkajs'))?.groups.has('g')).toBe(true);
    expect(stats.deletes).toBe(0);
    // The second one rejoins alone (its group rebalanced) and leaves: now the entry goes.
    const again = await h.coordinator.joinGroup(
      joinParams({ clientId: 'kafkajs', clientHost: `/${HOST}`, memberId: m2.memberId }),
    );
    expect(again.errorCode).toBe(ErrorCode.NONE);
    await leave(h, m2);
    await settle();
    expect(await node('kafkajs')).toBeNull();
    expect(stats.deletes).toBe(1);
  });

  it('refuses a late delete: a member expiring after its client rejoined and rewrote the node', async () => {
    const { h, stats, front, settle, node } = setUp();
    const client = { clientHost: HOST, clientId: 'c' };
    const first = await front.record(client, ['g']);
    await stable(h, [{ clientId: 'c' }]);
    await settle();
    // The client gave up its session (a long pause), found its coordinator again: a new write.
    const second = await front.record(client, ['g']);
    expect(second).not.toBe(first);
    // The broker expires the old member only now.
    await h.clock.advance(SESSION_MS + 1);
    await settle();
    expect((await node('c'))?.groups.get('g')?.token).toBe(second);
    expect(stats).toMatchObject({ deletes: 0, deletesRefused: 1 });
  });

  it("adopts a member's own rewrite once it is heard from, and deletes it when it leaves", async () => {
    const { h, stats, front, settle, node } = setUp();
    const client = { clientHost: HOST, clientId: 'c' };
    await front.record(client, ['g']);
    const [m] = await stable(h, [{ clientId: 'c' }]);
    await settle();
    // Its coordinator connection dropped: FindCoordinator again, then heartbeats as before.
    await front.record(client, ['g']);
    await settle();
    expect(await heartbeat(h, m)).toBe(ErrorCode.NONE);
    await leave(h, m);
    await settle();
    expect(await node('c')).toBeNull();
    expect(stats).toMatchObject({ deletes: 1, deletesRefused: 0 });
  });

  it("does not give a new member's tracking the token a publish for its predecessor saw", async () => {
    const { h, store, stats, front, settle, node, cache } = setUp();
    const client = { clientHost: HOST, clientId: 'c' };
    await front.record(client, ['g']);
    // The coordinator's next write lands but its answer is held back.
    const put = store.put.bind(store);
    let answer: (() => void) | undefined;
    store.put = async (path, value, options) => {
      const stat = await put(path, value, options);
      if (answer === undefined) await new Promise<void>((resolve) => (answer = resolve));
      return stat;
    };
    const [m1] = await stable(h, [{ clientId: 'c', topics: { orders: [0] } }]);
    await waitFor('the publish to be written', () => answer !== undefined, 2000);
    // Meanwhile the member leaves, and the client comes back as a new member, with a new write.
    await leave(h, m1);
    await front.record(client, ['g']);
    const { answer: joining } = await startJoin(h, {
      groupId: 'g',
      clientId: 'c',
      clientHost: `/${HOST}`,
    });
    await h.clock.advance(h.config.groupInitialRebalanceDelayMs * 2);
    const m2 = await joining;
    expect(m2.errorCode).toBe(ErrorCode.NONE);
    // (The node's queue is held: no settle() until the answer goes.)
    await waitFor('the new write to be cached', async () => {
      await flush();
      return cache.find(client)?.state.kind === 'present';
    });
    for (let i = 0; i < 5; i++) await flush();
    expect(await heartbeat(h, m2)).toBe(ErrorCode.NONE);
    answer!();
    await settle();
    // The new member leaves: its own write goes.
    await leave(h, m2);
    await settle();
    expect(await node('c')).toBeNull();
    expect(stats.deletesRefused).toBe(0);
  });

  it('removes only its own group from a node another group shares', async () => {
    const { h, front, settle, node } = setUp();
    const client = { clientHost: HOST, clientId: 'kafkajs' };
    await front.record(client, ['g']);
    await front.record(client, ['other']);
    const [m] = await stable(h, [{ clientId: 'kafkajs' }]);
    await settle();
    await leave(h, m);
    await settle();
    expect([...(await node('kafkajs'))!.groups.keys()]).toEqual(['other']);
  });

  it("re-creates at once a live member's entry deleted by hand, with its assignment", async () => {
    const { h, stats, front, settle, node, frontStore } = setUp();
    await front.record({ clientHost: HOST, clientId: 'c' }, ['g']);
    const [m] = await stable(h, [{ clientId: 'c', topics: { orders: [0] } }]);
    await settle();
    await frontStore.delete(`${ROOT}/${HOST}-c`);
    await settle();
    const entry = (await node('c'))!.groups.get('g')!;
    expect(entry.broker).toBe(1);
    expect(Object.fromEntries(entry.assigned!)).toEqual({ [fullTopicName('orders')]: [0] });
    expect(stats.repairs).toBe(1);
    // The coordinator's own write is the member's now: its leave removes it.
    await leave(h, m);
    await settle();
    expect(await node('c')).toBeNull();
  });

  it('removes the entries a deleted group left behind', async () => {
    const { h, store, stats, front, settle, node } = setUp();
    // An admin tool asked for the group's coordinator; it never joined.
    await front.record({ clientHost: HOST, clientId: 'admin' }, ['g', 'other']);
    const [m] = await stable(h, [{ clientId: 'c' }]);
    await leave(h, m);
    await settle();
    store.reads.length = 0;
    expect(await h.coordinator.deleteGroups(['g'])).toEqual([{ groupId: 'g', errorCode: 0 }]);
    await settle();
    // The sweep's reads (the root's children, the nodes it edits) leave no watch behind.
    expect(store.reads).toEqual([
      { op: 'children', path: ROOT, watch: false },
      { op: 'get', path: `${ROOT}/${HOST}-admin`, watch: false },
    ]);
    expect([...(await node('admin'))!.groups.keys()]).toEqual(['other']);
    expect(stats.orphansRemoved).toBe(1);
  });

  it('sweeps again, with backoff, after a sweep failed, and includes the groups deleted meanwhile', async () => {
    const { h, store, stats, front, settle, node } = setUp();
    await front.record({ clientHost: HOST, clientId: 'admin' }, ['g1', 'g2', 'other']);
    for (const groupId of ['g1', 'g2']) await commitWithoutMembers(h, groupId);
    const children = store.children.bind(store);
    let failures = 1;
    store.children = (path) =>
      failures-- > 0 ? Promise.reject(new Error('no quorum')) : children(path);
    expect(await h.coordinator.deleteGroups(['g1'])).toEqual([{ groupId: 'g1', errorCode: 0 }]);
    await settle();
    expect(stats.coordinatorFailures).toBe(1);
    expect(await h.coordinator.deleteGroups(['g2'])).toEqual([{ groupId: 'g2', errorCode: 0 }]);
    await settle();
    await waitFor(
      'the sweep to be retried',
      async () => (await node('admin'))!.groups.size === 1,
      5000,
    );
    expect([...(await node('admin'))!.groups.keys()]).toEqual(['other']);
    expect(stats.orphansRemoved).toBe(2);
  });

  it('deletes nothing when the group is unloaded, nor once the broker shuts down', async () => {
    let shuttingDown = false;
    const { h, stats, front, settle, node } = setUp({ shuttingDown: () => shuttingDown });
    await front.record({ clientHost: HOST, clientId: 'c' }, ['g']);
    await front.record({ clientHost: HOST, clientId: 'd' }, ['g3']);
    await stable(h, [{ clientId: 'c' }]);
    await settle();
    // The group moves to another coordinator: nobody left it, whatever the clock does here.
    h.coordinator.unload(h.partitionOf('g'));
    await h.clock.advance(SESSION_MS * 2);
    await settle();
    expect((await node('c'))?.groups.has('g')).toBe(true);

    expect(h.partitionOf('g3')).not.toBe(h.partitionOf('g'));
    await stable(h, [{ clientId: 'd' }], 'g3');
    await settle();
    // Shutting down: the member's session ends before the coordinator stops; no delete.
    shuttingDown = true;
    await h.clock.advance(SESSION_MS * 2);
    expect(h.events.map((e) => e.reason)).toEqual(['expired']);
    h.coordinator.shutdown();
    await settle();
    expect((await node('d'))?.groups.has('g3')).toBe(true);
    expect(stats).toMatchObject({ deletes: 0, deletesRefused: 0 });
  });
});
