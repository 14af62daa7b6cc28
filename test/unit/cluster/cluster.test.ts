/**
 * Ownership with several brokers in one process, one in-memory metadata session each over one
 * shared tree (as brokers share a ZooKeeper ensemble).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DuplicateBrokerIdError } from '../../../src/cluster/cluster.js';
import { BROKERS_ROOT, epochPath, ownerPath } from '../../../src/cluster/paths.js';
import {
  MemoryMetadataTree,
  type MetadataStore,
  type Notification,
  type SessionEvent,
} from '../../../src/metadata/index.js';
import { TopicRegistry } from '../../../src/topics/topic-registry.js';
import { waitFor } from '../../helpers/wait.js';
import { Brokers, keyOf, logger, partitionsOf } from './harness.js';

const ORDERS = 'persistent://public/default/orders';
const CLICKS = 'persistent://public/default/clicks';
const OFFSETS = 'persistent://public/__kafka/__consumer_offsets';

let tree: MemoryMetadataTree;
let brokers: Brokers;
let registries: TopicRegistry[] = [];

afterEach(async () => {
  await brokers?.closeAll();
  for (const r of registries) r.stop();
  registries = [];
});

async function setUp(topics: Record<string, number>, ids = [1, 2, 3]) {
  tree = new MemoryMetadataTree();
  brokers = new Brokers();
  const registry = new TopicRegistry(tree.newSession(), logger);
  registries.push(registry);
  await registry.start();
  for (const [name, count] of Object.entries(topics)) await registry.create(name, count);
  for (const id of ids) await brokers.start(id, tree.newSession());
  return registry;
}

describe('cluster ownership over one in-memory tree', () => {
  it('gives every partition of every topic exactly one owner, spread over the brokers', async () => {
    const topics = { [ORDERS]: 12, [CLICKS]: 7, [OFFSETS]: 50 };
    await setUp(topics);
    const owners = await brokers.converged(topics);
    expect(owners.size).toBe(69);
    const perBroker = new Map<number, number>();
    for (const { brokerId } of owners.values()) {
      perBroker.set(brokerId, (perBroker.get(brokerId) ?? 0) + 1);
    }
    expect([...perBroker.keys()].sort()).toEqual([1, 2, 3]);
    for (const count of perBroker.values()) expect(count).toBeGreaterThanOrEqual(10);

    const [b1] = brokers.all;
    expect(b1.cluster.liveBrokers()).toEqual([
      {
        brokerId: 1,
        rack: null,
        protocols: { kafka: 'PLAINTEXT://127.0.0.1:9093' },
        httpPort: 8081,
        httpHost: '127.0.0.1',
      },
      {
        brokerId: 2,
        rack: null,
        protocols: { kafka: 'PLAINTEXT://127.0.0.1:9094' },
        httpPort: 8082,
        httpHost: '127.0.0.1',
      },
      {
        brokerId: 3,
        rack: null,
        protocols: { kafka: 'PLAINTEXT://127.0.0.1:9095' },
        httpPort: 8083,
        httpHost: '127.0.0.1',
      },
    ]);
    expect(b1.cluster.broker(3)?.httpPort).toBe(8083);
    expect(b1.cluster.broker(9)).toBeUndefined();
    // The brokers started one after another, so the first took everything and handed some
    // over as the others joined: each partition's last 'gained' went to its owner.
    for (const tp of partitionsOf(topics)) {
      const gains = brokers.events.filter(
        (e) =>
          e.event.kind === 'gained' &&
          e.event.partition.topic === tp.topic &&
          e.event.partition.partition === tp.partition,
      );
      expect(gains.at(-1)?.brokerId).toBe(owners.get(keyOf(tp))!.brokerId);
    }
    brokers.expectEpochsGrow();
  });

  it('moves some partitions to a broker that joins: lost on one, gained on the other, epoch up', async () => {
    const topics = { [ORDERS]: 16, [OFFSETS]: 50 };
    await setUp(topics);
    const before = await brokers.converged(topics);
    const changedBefore = brokers.changed.get(1) ?? 0;
    const mark = brokers.mark();

    await brokers.start(4, tree.newSession());
    const after = await brokers.converged(topics);

    const moved = [...after].filter(([key, o]) => before.get(key)!.brokerId !== o.brokerId);
    expect(moved.length).toBeGreaterThan(0);
    expect(moved.length).toBeLessThan(after.size);
    for (const [key, owner] of moved) {
      // Rendezvous placement: only partitions the new broker wins move, and only to it.
      expect(owner.brokerId).toBe(4);
      expect(owner.epoch).toBeGreaterThan(before.get(key)!.epoch);
      const previous = before.get(key)!;
      const lost = brokers
        .eventsOf(previous.brokerId, 'lost', mark)
        .filter((e) => 'partition' in e.event && keyOf(e.event.partition) === key);
      expect(lost.map((e) => ('epoch' in e.event ? e.event.epoch : -1))).toEqual([previous.epoch]);
    }
    for (const [key, owner] of after) {
      if (owner.brokerId !== 4) expect(owner).toEqual(before.get(key));
    }
    expect(brokers.eventsOf(4, 'gained', mark)).toHaveLength(moved.length);
    expect(brokers.events.slice(mark).filter((e) => e.event.kind === 'lost')).toHaveLength(
      moved.length,
    );
    await waitFor('changed on broker 1', () => (brokers.changed.get(1) ?? 0) > changedBefore);
    brokers.expectEpochsGrow();
  });

  it("gives a closed broker's partitions to the live brokers under higher epochs", async () => {
    const topics = { [ORDERS]: 10, [OFFSETS]: 30 };
    await setUp(topics);
    const before = await brokers.converged(topics);
    const victim = brokers.all[1];
    const held = victim.cluster.ownedPartitions().length;
    expect(held).toBeGreaterThan(0);
    const mark = brokers.mark();

    await victim.cluster.close();
    expect(brokers.eventsOf(victim.id, 'lost', mark)).toHaveLength(held);
    expect(victim.cluster.ownedPartitions()).toEqual([]);
    await victim.store.close();
    brokers.forget(victim);

    const after = await brokers.converged(topics);
    for (const [key, owner] of after) {
      const previous = before.get(key)!;
      if (previous.brokerId === victim.id) {
        expect(owner.brokerId).not.toBe(victim.id);
        expect(owner.epoch).toBeGreaterThan(previous.epoch);
      } else {
        expect(owner).toEqual(previous);
      }
    }
    brokers.expectEpochsGrow();
  });

  it('release() sends lost, deletes its registration and owner nodes, and others take over', async () => {
    const topics = { [ORDERS]: 10, [OFFSETS]: 30 };
    await setUp(topics);
    const before = await brokers.converged(topics);
    const leaving = brokers.all[0];
    const held = leaving.cluster.ownedPartitions();
    const observer = tree.newSession();
    const mark = brokers.mark();

    await leaving.cluster.release();
    // By the time release resolves nothing of it is left in the store.
    expect(await observer.children(BROKERS_ROOT)).toEqual(['2', '3']);
    for (const { partition } of held) {
      const node = await observer.get(ownerPath(partition));
      if (node) expect(JSON.parse(node.value.toString()).brokerId).not.toBe(leaving.id);
    }
    expect(brokers.eventsOf(leaving.id, 'lost', mark)).toHaveLength(held.length);
    expect(leaving.cluster.ownedPartitions()).toEqual([]);
    brokers.forget(leaving);

    const after = await brokers.converged(topics);
    for (const { partition, epoch } of held) {
      expect(after.get(keyOf(partition))!.epoch).toBeGreaterThan(epoch);
    }
    for (const [key, owner] of after) {
      if (before.get(key)!.brokerId !== leaving.id) expect(owner).toEqual(before.get(key));
    }
    await leaving.store.close();
    await observer.close();
    brokers.expectEpochsGrow();
  });

  it("keeps a partition's owner node until the listeners' reactions to lost settle, on release and on hand-over", async () => {
    const topics = { [ORDERS]: 12 };
    await setUp(topics, [1]);
    await brokers.converged(topics);
    const [first] = brokers.all;
    const observer = tree.newSession();
    const ownerOfNode = async (partition: number) => {
      const node = await observer.get(ownerPath({ topic: ORDERS, partition }));
      return node ? (JSON.parse(node.value.toString()) as { brokerId: number }).brokerId : null;
    };
    // Broker 1 closes what it loses only when told to.
    const closing = new Map<number, () => void>();
    first.cluster.onEvent((event) => {
      if (event.kind !== 'lost') return;
      return new Promise<void>((resolve) => closing.set(event.partition.partition, resolve));
    });

    // Hand-over: broker 2 joins and wins some partitions; each waits for broker 1's reaction.
    await brokers.start(2, tree.newSession());
    await waitFor('a lost partition', async () => closing.size > 0);
    await brokers.all[1].cluster.settled();
    const [handedOver] = closing.keys();
    expect(await ownerOfNode(handedOver)).toBe(1);
    for (const close of closing.values()) close();
    await brokers.converged(topics);
    expect(await ownerOfNode(handedOver)).toBe(2);

    // Release: no owner node goes (and the broker stays registered) before every reaction.
    closing.clear();
    const held = first.cluster.ownedPartitions().map((o) => o.partition.partition);
    expect(held.length).toBeGreaterThan(0);
    let released = false;
    const releasing = first.cluster.release().then(() => (released = true));
    await waitFor('lost for all it held', async () => closing.size === held.length);
    expect(released).toBe(false);
    for (const p of held) expect(await ownerOfNode(p)).toBe(1);
    expect(await observer.children(BROKERS_ROOT)).toEqual(['1', '2']);
    for (const close of closing.values()) close();
    await releasing;
    for (const p of held) expect(await ownerOfNode(p)).not.toBe(1);
    brokers.forget(first);
    await first.store.close();
    await brokers.converged(topics);
    await observer.close();
  });

  it('takes a partition again under an epoch past a claim the store found on disk', async () => {
    const topics = { [ORDERS]: 4 };
    await setUp(topics, [1]);
    const before = await brokers.converged(topics);
    const [broker] = brokers.all;
    const refused = { topic: ORDERS, partition: 2 };
    const { epoch } = before.get(keyOf(refused))!;
    const mark = brokers.mark();

    // Reports for an epoch the broker does not hold, or below it, change nothing.
    broker.cluster.claimRefused({ topic: ORDERS, partition: 1 }, epoch + 5, 57);
    broker.cluster.claimRefused({ topic: ORDERS, partition: 3 }, epoch, epoch - 1);
    // The data directory says 57 while the metadata store handed out `epoch`.
    broker.cluster.claimRefused(refused, epoch, 57);
    await waitFor('gained again', async () => brokers.eventsOf(1, 'gained', mark).length > 0);
    const after = await brokers.converged(topics);

    expect(after.get(keyOf(refused))).toEqual({ brokerId: 1, epoch: 58 });
    expect(brokers.events.slice(mark).map((e) => e.event)).toEqual([
      { kind: 'lost', partition: refused, epoch },
      { kind: 'gained', partition: refused, epoch: 58 },
    ]);
    for (const [key, owner] of after)
      if (key !== keyOf(refused)) expect(owner).toEqual(before.get(key));
    const observer = tree.newSession();
    const node = await observer.get(epochPath(refused));
    expect(JSON.parse(node!.value.toString())).toMatchObject({ epoch: 58 });
    await observer.close();
  });

  it('never repeats an epoch through joins, releases, closes and restarts', async () => {
    const topics = { [ORDERS]: 8, [OFFSETS]: 20 };
    await setUp(topics);
    await brokers.converged(topics);
    const b4 = await brokers.start(4, tree.newSession());
    await brokers.converged(topics);
    await brokers.all[0].cluster.release();
    await brokers.all[0].store.close();
    brokers.forget(brokers.all[0]);
    await brokers.converged(topics);
    await b4.cluster.close();
    await b4.store.close();
    brokers.forget(b4);
    await brokers.converged(topics);
    await brokers.start(1, tree.newSession());
    await brokers.start(4, tree.newSession());
    await brokers.converged(topics);
    brokers.expectEpochsGrow();
    expect(brokers.events.filter((e) => e.event.kind === 'gained').length).toBeGreaterThan(28);
  });

  it('gives owners to new topics and to partitions added to a topic', async () => {
    const registry = await setUp({ [ORDERS]: 3 });
    await brokers.converged({ [ORDERS]: 3 });
    const mark = brokers.mark();
    await registry.create(CLICKS, 5);
    await registry.setPartitionCount(ORDERS, 9);
    await brokers.converged({ [ORDERS]: 9, [CLICKS]: 5 });
    // Partitions 0..2 kept their owners: only the new ones were gained.
    const orderGains = brokers.events
      .slice(mark)
      .filter((e) => e.event.kind === 'gained' && e.event.partition.topic === ORDERS);
    expect(
      orderGains.map((e) => 'partition' in e.event && e.event.partition.partition).sort(),
    ).toEqual([3, 4, 5, 6, 7, 8]);
    expect(brokers.events.slice(mark).filter((e) => e.event.kind === 'lost')).toEqual([]);
  });

  it('clears ownership of a deleted topic without lost events, and re-owns it when recreated', async () => {
    const registry = await setUp({ [ORDERS]: 6, [CLICKS]: 2 });
    const before = await brokers.converged({ [ORDERS]: 6, [CLICKS]: 2 });
    const observer = tree.newSession();
    const mark = brokers.mark();
    const owner0 = brokers.all.find((b) => b.id === before.get(`${ORDERS}-0`)!.brokerId)!;
    await owner0.cluster.recordEpochStart(
      { topic: ORDERS, partition: 0 },
      before.get(`${ORDERS}-0`)!.epoch,
      0,
    );
    await registry.delete(ORDERS);

    await waitFor('ownership of the deleted topic cleared', async () => {
      for (const tp of partitionsOf({ [ORDERS]: 6 })) {
        for (const b of brokers.all) {
          if (b.cluster.ownsNow(tp) || b.cluster.ownerOf(tp) !== null) return false;
        }
        if (await observer.exists(ownerPath(tp))) return false;
      }
      return true;
    });
    expect(brokers.events.slice(mark).filter((e) => e.event.kind === 'lost')).toEqual([]);
    await brokers.converged({ [CLICKS]: 2 });

    await registry.create(ORDERS, 2);
    const again = await brokers.converged({ [ORDERS]: 2, [CLICKS]: 2 });
    expect(again.get(`${ORDERS}-0`)!.epoch).toBeGreaterThan(before.get(`${ORDERS}-0`)!.epoch);
    // The history of the deleted topic is not the new topic's.
    const history = await brokers.all[0].cluster.epochHistory({ topic: ORDERS, partition: 0 });
    expect(history).toEqual([]);
    await observer.close();
    brokers.expectEpochsGrow();
  });

  it('keeps the history of epoch starts, in order, the last 50', async () => {
    const topics = { [ORDERS]: 1 };
    await setUp(topics);
    const owners = await brokers.converged(topics);
    const tp = { topic: ORDERS, partition: 0 };
    const first = owners.get(`${ORDERS}-0`)!;
    const owner = brokers.all.find((b) => b.id === first.brokerId)!;
    expect(await owner.cluster.epochHistory(tp)).toEqual([]);
    await owner.cluster.recordEpochStart(tp, first.epoch, 0);
    await owner.cluster.recordEpochStart(tp, first.epoch, 99); // recorded already: kept
    expect(await brokers.all[2].cluster.epochHistory(tp)).toEqual([
      { epoch: first.epoch, startOffset: 0 },
    ]);

    // Move it around: each new owner records where its epoch starts.
    let offset = 10;
    const move = async () => {
      const current = (await brokers.converged(topics)).get(`${ORDERS}-0`)!;
      const holder = brokers.all.find((b) => b.id === current.brokerId)!;
      await holder.cluster.release();
      await holder.store.close();
      brokers.forget(holder);
      await brokers.start(holder.id, tree.newSession());
      const next = (await brokers.converged(topics)).get(`${ORDERS}-0`)!;
      const owner = brokers.all.find((b) => b.id === next.brokerId)!;
      await owner.cluster.recordEpochStart(tp, next.epoch, offset);
      offset += 10;
    };
    for (let i = 0; i < 30; i++) await move();
    const history = await brokers.all[0].cluster.epochHistory(tp);
    expect(history).toHaveLength(31);
    for (let i = 1; i < history.length; i++) {
      expect(history[i].epoch).toBeGreaterThan(history[i - 1].epoch);
      expect(history[i].startOffset).toBeGreaterThan(history[i - 1].startOffset);
    }
    // An older epoch than the newest recorded is not appended.
    await brokers.all[0].cluster.recordEpochStart(tp, history[0].epoch - 1, 5);
    expect(await brokers.all[0].cluster.epochHistory(tp)).toEqual(history);

    for (let i = 0; i < 25; i++) await move();
    const trimmed = await brokers.all[0].cluster.epochHistory(tp);
    expect(trimmed).toHaveLength(50);
    expect(trimmed.at(-1)!.startOffset).toBe(offset - 10);
  });

  it('refuses a broker id that a live broker holds, and accepts it once that broker is gone', async () => {
    await setUp({ [ORDERS]: 2 });
    const second = tree.newSession();
    await expect(brokers.start(2, second)).rejects.toBeInstanceOf(DuplicateBrokerIdError);
    const b2 = brokers.all.find((b) => b.id === 2)!;
    await b2.cluster.close();
    await b2.store.close();
    brokers.forget(b2);
    await brokers.start(2, second);
    await brokers.converged({ [ORDERS]: 2 });
  });
});

/** A memory session whose session events a test can fire. */
class ScriptedSession implements MetadataStore {
  private readonly sessionListeners = new Set<(e: SessionEvent) => void>();
  constructor(private readonly inner: MetadataStore) {}
  get = (path: string) => this.inner.get(path);
  put: MetadataStore['put'] = (path, value, options) => this.inner.put(path, value, options);
  delete = (path: string, version?: number) => this.inner.delete(path, version);
  deleteRecursive = (path: string) => this.inner.deleteRecursive(path);
  exists = (path: string) => this.inner.exists(path);
  children = (path: string) => this.inner.children(path);
  onNotification = (listener: (n: Notification) => void) => this.inner.onNotification(listener);
  unwatch = (path: string) => this.inner.unwatch(path);
  close = () => this.inner.close();
  onSessionEvent(listener: (e: SessionEvent) => void): () => void {
    this.sessionListeners.add(listener);
    return () => this.sessionListeners.delete(listener);
  }
  fire(event: SessionEvent): void {
    for (const l of [...this.sessionListeners]) l(event);
  }
}

describe('cluster ownership and the metadata session', () => {
  it('a release interrupted by a lost session deletes no owner node another broker wrote since', async () => {
    const topics = { [ORDERS]: 6 };
    await setUp(topics, []);
    const session = new ScriptedSession(tree.newSession());
    const b3 = await brokers.start(3, session);
    await brokers.converged(topics);
    const reactions: (() => void)[] = [];
    b3.cluster.onEvent((event) => {
      if (event.kind === 'lost') return new Promise<void>((resolve) => reactions.push(resolve));
    });
    const releasing = b3.cluster.release();
    await waitFor('lost for all it held', async () => reactions.length === 6);

    // The session expires meanwhile; another broker writes the owner nodes, at version 0 again.
    session.fire('expired');
    const other = tree.newSession();
    for (let partition = 0; partition < 6; partition++) {
      const path = ownerPath({ topic: ORDERS, partition });
      await other.delete(path);
      await other.put(path, Buffer.from(JSON.stringify({ brokerId: 9, epoch: 99 })), {
        expectedVersion: -1,
      });
    }
    for (const react of reactions) react();
    await releasing;
    for (let partition = 0; partition < 6; partition++) {
      const node = await other.get(ownerPath({ topic: ORDERS, partition }));
      expect(node?.stat.version).toBe(0);
      expect(JSON.parse(node!.value.toString())).toMatchObject({ brokerId: 9 });
    }
    brokers.forget(b3);
    await other.close();
  });

  it('keeps owning while disconnected, loses all on expired, regains with new epochs', async () => {
    const topics = { [ORDERS]: 6, [OFFSETS]: 12 };
    await setUp(topics, [1, 2]);
    const session = new ScriptedSession(tree.newSession());
    const b3 = await brokers.start(3, session);
    const before = await brokers.converged(topics);
    const held = b3.cluster.ownedPartitions();
    expect(held.length).toBeGreaterThan(0);
    const mark = brokers.mark();

    // The session may still be alive: the broker serves on; the store's fence guards writes.
    session.fire('disconnected');
    for (const { partition } of held) expect(b3.cluster.ownsNow(partition)).toBe(true);
    expect(brokers.eventsOf(3, 'lost', mark)).toEqual([]);
    session.fire('connected');
    for (const { partition } of held) expect(b3.cluster.ownsNow(partition)).toBe(true);
    expect(await brokers.converged(topics)).toEqual(before);

    session.fire('disconnected');
    session.fire('expired');
    expect(brokers.eventsOf(3, 'lost', mark)).toHaveLength(held.length);
    for (const { partition } of held) expect(b3.cluster.ownsNow(partition)).toBe(false);
    // Its owner nodes are still there (the memory session never really expires): they come
    // back under new epochs once the session is back.
    session.fire('reconnected');
    const after = await brokers.converged(topics);
    for (const { partition, epoch } of held) {
      const now = after.get(keyOf(partition))!;
      expect(now.brokerId).toBe(3);
      expect(now.epoch).toBeGreaterThan(epoch);
    }
    expect(brokers.eventsOf(3, 'gained', mark)).toHaveLength(held.length);
    brokers.expectEpochsGrow();
  });
});
