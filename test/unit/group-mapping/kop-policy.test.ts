/**
 * The `kop` policy behaves as KoP did: the close of the FindCoordinator connection deletes what it
 * wrote (whatever the node holds by then), and the fetch path keeps its first answer, "no group"
 * included, for the life of the fetch connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { KopPolicy } from '../../../plugins/kafka/group-mapping/kop-policy.js';
import { MappingCache } from '../../../plugins/kafka/group-mapping/node-cache.js';
import { newGroupMappingStats } from '../../../plugins/kafka/group-mapping/stats.js';
import { MappingWriter } from '../../../plugins/kafka/group-mapping/writer.js';
import { ROOT, flush, logger, readNode, stores, type FaultyStore } from './helpers.js';

const CLIENT = { clientHost: '10.0.0.1', clientId: 'c' };
const PATH = `${ROOT}/10.0.0.1-c`;

const caches: MappingCache[] = [];
afterEach(() => {
  for (const c of caches.splice(0)) c.close();
});

function kop(store: FaultyStore) {
  const stats = newGroupMappingStats();
  const cache = new MappingCache({ store, root: ROOT, logger, stats });
  caches.push(cache);
  const policy = new KopPolicy({ store, root: ROOT, cache, timeoutMs: 500, logger, stats });
  const writer = new MappingWriter({
    store,
    root: ROOT,
    brokerId: 0,
    timeoutMs: 500,
    logger,
    stats,
  });
  const findCoordinator = (connectionId: number, groupIds: string[]) => {
    const write = writer.record(CLIENT, groupIds);
    policy.recorded(connectionId, CLIENT, groupIds, write);
    return write;
  };
  return { policy, stats, findCoordinator };
}

describe('the kop policy', () => {
  it('deletes what a connection wrote when it closes, and leaves the rest', async () => {
    const { a } = stores();
    const { policy, stats, findCoordinator } = kop(a);
    await findCoordinator(1, ['g']);
    await findCoordinator(2, ['other']);
    policy.connectionClosed(CLIENT, 1);
    await policy.drain();
    expect([...(await readNode(a, PATH))!.groups.keys()]).toEqual(['other']);
    policy.connectionClosed(CLIENT, 2);
    await policy.drain();
    expect(await readNode(a, PATH)).toBeNull();
    expect(stats.deletes).toBe(2);
  });

  it('deletes a newer write of the same group too, as KoP did', async () => {
    const { a } = stores();
    const { policy, findCoordinator } = kop(a);
    await findCoordinator(1, ['g']);
    // The client reconnected and asked again before its old connection's close was seen.
    await findCoordinator(2, ['g']);
    policy.connectionClosed(CLIENT, 1);
    await policy.drain();
    expect(await readNode(a, PATH)).toBeNull();
  });

  it("keeps a fetch connection's first answer, the empty one included, for its life", async () => {
    const { a, b } = stores();
    const { policy, findCoordinator } = kop(a);
    expect(policy.groupOf(CLIENT, 7)).toBeUndefined();
    await flush();
    expect(policy.groupOf(CLIENT, 7)).toBeNull();
    await findCoordinator(1, ['g']);
    await flush();
    // Connection 7 keeps "no group"; a new connection learns the group.
    expect(policy.groupOf(CLIENT, 7)).toBeNull();
    expect(policy.groupOf(CLIENT, 8)).toBe('g');
    // And connection 8 keeps it after the node is gone.
    await b.delete(PATH);
    await flush();
    expect(policy.groupOf(CLIENT, 8)).toBe('g');
    policy.connectionClosed(CLIENT, 7);
    expect(policy.groupOf(CLIENT, 7)).toBeNull();
  });

  it('deletes each node once on close, whatever number of FindCoordinators wrote it', async () => {
    const { a } = stores();
    const { policy, stats, findCoordinator } = kop(a);
    for (let i = 0; i < 5; i++) await findCoordinator(1, ['g']);
    await findCoordinator(1, ['h']);
    a.calls.length = 0;
    policy.connectionClosed(CLIENT, 1);
    await policy.drain();
    // One read and one delete of the node: no concurrent updates conflicting with each other.
    expect(a.calls).toEqual(['get', 'delete']);
    expect(await readNode(a, PATH)).toBeNull();
    expect(stats.deletes).toBe(2);
  });

  it('runs the deletes of two connections closing together one after the other', async () => {
    const { a } = stores();
    const { policy, stats, findCoordinator } = kop(a);
    await findCoordinator(1, ['g']);
    await findCoordinator(2, ['h']);
    a.calls.length = 0;
    policy.connectionClosed(CLIENT, 1);
    policy.connectionClosed(CLIENT, 2);
    await policy.drain();
    expect(a.calls).toEqual(['get', 'put', 'get', 'delete']);
    expect(await readNode(a, PATH)).toBeNull();
    expect(stats.deletes).toBe(2);
  });

  it('keeps nothing for a closed connection, and deletes what is written for one', async () => {
    const { a, b } = stores();
    const { policy, findCoordinator } = kop(a);
    policy.connectionClosed(CLIENT, 7);
    // The fetch path asks again, for counts it kept, with the connection they came on.
    expect(policy.groupOf(CLIENT, 7)).toBeUndefined();
    await flush();
    expect(policy.groupOf(CLIENT, 7)).toBeNull();
    await b.put(PATH, Buffer.from('g'));
    await flush();
    expect(policy.groupOf(CLIENT, 7)).toBe('g');
    await b.delete(PATH);
    await flush();

    // A FindCoordinator answered after its connection closed: its write is deleted.
    policy.connectionClosed(CLIENT, 8);
    await findCoordinator(8, ['g']);
    await policy.drain();
    expect(await readNode(a, PATH)).toBeNull();
  });
});
