/**
 * Cluster membership and partition ownership over a real ZooKeeper 3.8: the core behaviour of
 * the in-memory tests, then what only a real session can do: expire, be cut off, see its server
 * restart or stop answering.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BROKERS_ROOT, ownerPath } from '../../src/cluster/paths.js';
import {
  ZooKeeperMetadataStore,
  type MetadataStore,
  type SessionEvent,
} from '../../src/metadata/index.js';
import { TopicRegistry } from '../../src/topics/topic-registry.js';
import { Brokers, keyOf, logger, type Broker } from '../unit/cluster/harness.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { expireSession, startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

const ORDERS = 'persistent://public/default/orders';
const CLICKS = 'persistent://public/default/clicks';
const OFFSETS = 'persistent://public/__kafka/__consumer_offsets';

let zk: ZooKeeperServer;
let brokers: Brokers;
let chroot = 0;
const extraStores: MetadataStore[] = [];
const registries: TopicRegistry[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
});

afterEach(async () => {
  zk.resume();
  await brokers?.closeAll();
  for (const r of registries.splice(0)) r.stop();
  await Promise.all(extraStores.splice(0).map((s) => s.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

interface Setup {
  url: string;
  registry: TopicRegistry;
  admin: MetadataStore;
  open: (options?: { sessionTimeoutMs?: number; port?: number }) => Promise<ZooKeeperMetadataStore>;
}

async function setUp(
  topics: Record<string, number>,
  ids = [1, 2, 3],
  options: { sessionTimeoutMs?: number } = {},
): Promise<Setup> {
  const path = `/cluster-${++chroot}`;
  const open = (o: { sessionTimeoutMs?: number; port?: number } = {}) =>
    ZooKeeperMetadataStore.open(`zk:127.0.0.1:${o.port ?? zk.port}${path}`, {
      sessionTimeoutMs: o.sessionTimeoutMs ?? options.sessionTimeoutMs ?? 4000,
      operationTimeoutMs: 5000,
      logger,
    });
  brokers = new Brokers();
  const admin = await open();
  extraStores.push(admin);
  const registry = new TopicRegistry(admin, logger);
  registries.push(registry);
  await registry.start();
  for (const [name, count] of Object.entries(topics)) await registry.create(name, count);
  for (const id of ids) await brokers.start(id, await open());
  return { url: path, registry, admin, open };
}

function sessionEvents(store: MetadataStore): SessionEvent[] {
  const events: SessionEvent[] = [];
  store.onSessionEvent((e) => events.push(e));
  return events;
}

function heldBy(broker: Broker) {
  return broker.cluster.ownedPartitions();
}

describe('cluster ownership on ZooKeeper', () => {
  it('one owner per partition; joins, topic changes, release and close move ownership', async () => {
    const topics: Record<string, number> = { [ORDERS]: 8, [OFFSETS]: 20 };
    const { registry, admin, open } = await setUp(topics);
    const first = await brokers.converged(topics);
    expect(new Set([...first.values()].map((o) => o.brokerId)).size).toBe(3);

    // A broker joins: only partitions it wins move, under higher epochs.
    let mark = brokers.mark();
    await brokers.start(4, await open());
    const joined = await brokers.converged(topics);
    const moved = [...joined].filter(([key, o]) => first.get(key)!.brokerId !== o.brokerId);
    expect(moved.length).toBeGreaterThan(0);
    for (const [key, owner] of moved) {
      expect(owner.brokerId).toBe(4);
      expect(owner.epoch).toBeGreaterThan(first.get(key)!.epoch);
    }
    expect(brokers.events.slice(mark).filter((e) => e.event.kind === 'lost')).toHaveLength(
      moved.length,
    );

    // Topics created and grown through the admin session reach every broker.
    await registry.create(CLICKS, 4);
    await registry.setPartitionCount(ORDERS, 12);
    topics[CLICKS] = 4;
    topics[ORDERS] = 12;
    const grown = await brokers.converged(topics);

    // release(): lost, registration and owner nodes gone when it resolves, others take over.
    const leaving = brokers.all.find((b) => b.id === 2)!;
    const released = heldBy(leaving);
    mark = brokers.mark();
    await leaving.cluster.release();
    expect(await admin.children(BROKERS_ROOT)).toEqual(['1', '3', '4']);
    for (const { partition } of released) {
      const node = await admin.get(ownerPath(partition));
      if (node) expect(JSON.parse(node.value.toString()).brokerId).not.toBe(2);
    }
    expect(brokers.eventsOf(2, 'lost', mark)).toHaveLength(released.length);
    brokers.forget(leaving);
    await leaving.store.close();
    const afterRelease = await brokers.converged(topics);
    for (const { partition, epoch } of released) {
      expect(afterRelease.get(keyOf(partition))!.epoch).toBeGreaterThan(epoch);
    }

    // A broker whose session closes: its ephemeral nodes go, others take over.
    const closing = brokers.all.find((b) => b.id === 3)!;
    const closed = heldBy(closing);
    await closing.cluster.close();
    await closing.store.close();
    brokers.forget(closing);
    const afterClose = await brokers.converged(topics);
    for (const { partition, epoch } of closed) {
      const now = afterClose.get(keyOf(partition))!;
      expect([1, 4]).toContain(now.brokerId);
      expect(now.epoch).toBeGreaterThan(epoch);
    }

    // A deleted topic's ownership goes, without 'lost'.
    mark = brokers.mark();
    await registry.delete(CLICKS);
    await waitFor('ownership of the deleted topic cleared', async () => {
      for (let p = 0; p < 4; p++) {
        const tp = { topic: CLICKS, partition: p };
        if (brokers.all.some((b) => b.cluster.ownsNow(tp) || b.cluster.ownerOf(tp))) return false;
        if (await admin.exists(ownerPath(tp))) return false;
      }
      return true;
    });
    expect(brokers.events.slice(mark)).toEqual([]);
    delete topics[CLICKS];
    await brokers.converged(topics);
    expect(grown.size).toBe(36);
    brokers.expectEpochsGrow();
  });

  it('a broker whose session expires loses everything, then rejoins and takes its share back under new epochs', async () => {
    const topics = { [ORDERS]: 6, [OFFSETS]: 18 };
    await setUp(topics);
    const before = await brokers.converged(topics);
    const victim = brokers.all.find((b) => b.id === 2)!;
    const held = heldBy(victim);
    expect(held.length).toBeGreaterThan(0);
    const events = sessionEvents(victim.store);
    const mark = brokers.mark();

    await expireSession(victim.store as ZooKeeperMetadataStore);
    await waitFor('reconnected', () => events.includes('reconnected'), 15_000);
    expect(events).toContain('expired');
    expect(brokers.eventsOf(2, 'lost', mark)).toHaveLength(held.length);

    const after = await brokers.converged(topics);
    for (const [key, owner] of after) {
      const previous = before.get(key)!;
      // Placement depends only on the live brokers, which are the same again.
      expect(owner.brokerId).toBe(previous.brokerId);
      if (owner.brokerId === 2) expect(owner.epoch).toBeGreaterThan(previous.epoch);
    }
    brokers.expectEpochsGrow();
  });

  it('a broker cut off past its session timeout: others take its partitions; it rejoins when it can', async () => {
    const topics = { [ORDERS]: 6, [OFFSETS]: 18 };
    const { open } = await setUp(topics, [1, 2]);
    const proxy = new TcpProxy();
    proxies.push(proxy);
    proxy.targetPort = zk.port;
    await proxy.listen();
    const b3 = await brokers.start(3, await open({ port: proxy.port, sessionTimeoutMs: 1500 }));
    const before = await brokers.converged(topics);
    const held = heldBy(b3);
    expect(held.length).toBeGreaterThan(0);
    const events = sessionEvents(b3.store);
    const mark = brokers.mark();

    proxy.targetPort = 1;
    proxy.cutAll();
    await waitFor('disconnected', () => events.includes('disconnected'), 10_000);
    // The session may still be alive: it serves on until the session timeout has passed.
    if (!events.includes('expired')) {
      for (const { partition } of held) expect(b3.cluster.ownsNow(partition)).toBe(true);
    }
    await waitFor('presumed expired', () => events.includes('expired'), 10_000);
    for (const { partition } of held) expect(b3.cluster.ownsNow(partition)).toBe(false);
    expect(brokers.eventsOf(3, 'lost', mark)).toHaveLength(held.length);

    const others = brokers.all.filter((b) => b.id !== 3);
    const without = await brokers.converged(topics, 20_000, others);
    for (const { partition, epoch } of held) {
      const now = without.get(keyOf(partition))!;
      expect(now.brokerId).not.toBe(3);
      expect(now.epoch).toBeGreaterThan(epoch);
    }
    expect(b3.cluster.ownedPartitions()).toEqual([]);

    proxy.targetPort = zk.port;
    await waitFor('reconnected', () => events.includes('reconnected'), 15_000);
    const after = await brokers.converged(topics);
    for (const [key, owner] of after) {
      expect(owner.brokerId).toBe(before.get(key)!.brokerId);
      if (owner.brokerId === 3) expect(owner.epoch).toBeGreaterThan(without.get(key)!.epoch);
    }
    brokers.expectEpochsGrow();
  });

  it('rides out a ZooKeeper restart: every broker serves what it owns while cut off', async () => {
    const topics = { [ORDERS]: 6, [OFFSETS]: 18 };
    await setUp(topics, [1, 2, 3], { sessionTimeoutMs: 15_000 });
    const before = await brokers.converged(topics);
    const events = new Map(brokers.all.map((b) => [b.id, sessionEvents(b.store)]));
    const restarting = zk.restart();
    await waitFor('all disconnected', () =>
      [...events.values()].every((e) => e.includes('disconnected')),
    );
    expectOwnersServe(before, events);
    await restarting;
    const after = await brokers.converged(topics, 30_000);
    // Same sessions, same brokers: ownership is as it was.
    if ([...events.values()].every((e) => !e.includes('expired'))) expect(after).toEqual(before);
    brokers.expectEpochsGrow();
  });

  it('serves what it owns while ZooKeeper does not answer; ownership recovers when it does', async () => {
    const topics = { [ORDERS]: 6, [OFFSETS]: 18 };
    await setUp(topics, [1, 2, 3], { sessionTimeoutMs: 6000 });
    const before = await brokers.converged(topics);
    const events = new Map(brokers.all.map((b) => [b.id, sessionEvents(b.store)]));
    zk.pause();
    try {
      await waitFor(
        'all disconnected',
        () => [...events.values()].every((e) => e.includes('disconnected')),
        20_000,
      );
      expectOwnersServe(before, events);
    } finally {
      zk.resume();
    }
    // The sessions may or may not have outlived the pause: either way ownership recovers.
    const after = await brokers.converged(topics, 30_000);
    for (const [key, owner] of after) expect(owner.brokerId).toBe(before.get(key)!.brokerId);
    brokers.expectEpochsGrow();
  });
});

/** Brokers cut off from a session that may still be alive keep serving what they own. */
function expectOwnersServe(
  owners: Map<string, { brokerId: number }>,
  events: Map<number, SessionEvent[]>,
): void {
  for (const [key, { brokerId }] of owners) {
    if (events.get(brokerId)!.includes('expired')) continue;
    const [topic, partition] = splitKey(key);
    for (const b of brokers.all) {
      expect(b.cluster.ownsNow({ topic, partition })).toBe(b.id === brokerId);
    }
  }
}

function splitKey(key: string): [string, number] {
  const i = key.lastIndexOf('-');
  return [key.slice(0, i), Number(key.slice(i + 1))];
}
