/**
 * The metadata store contract, run against the in-memory store and against the ZooKeeper store
 * on a real ZooKeeper 3.8; then what only ZooKeeper has: chroot, a server restart, operation
 * timeouts, and session expiry (ephemerals re-created, watches re-armed, listeners told).
 */
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BadVersionError,
  MemoryMetadataTree,
  MetadataCache,
  MetadataUnavailableError,
  NotFoundError,
  openMetadataStore,
  ZooKeeperMetadataStore,
  type MetadataStore,
  type Notification,
  type SessionEvent,
} from '../../src/metadata/index.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { expireSession, startZooKeeper, type ZooKeeperServer } from '../helpers/zookeeper.js';

let zk: ZooKeeperServer;
const opened: MetadataStore[] = [];
let namespaceCounter = 0;

beforeAll(async () => {
  zk = await startZooKeeper();
});

afterAll(async () => {
  await zk?.stop();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

function track<T extends MetadataStore>(store: T): T {
  opened.push(store);
  return store;
}

function openZk(
  path = '',
  options: { sessionTimeoutMs?: number; operationTimeoutMs?: number } = {},
) {
  return ZooKeeperMetadataStore.open(`zk:${zk.connectString}${path}`, {
    sessionTimeoutMs: 4000,
    operationTimeoutMs: 5000,
    // KOPPA_ZK_LOG=debug shows what the stores do with their sessions.
    ...(process.env.KOPPA_ZK_LOG ? { logger: pino({ level: process.env.KOPPA_ZK_LOG }) } : {}),
    ...options,
  }).then(track);
}

/** Records notifications and session events of one store. */
function record(store: MetadataStore) {
  const notifications: Notification[] = [];
  const sessions: SessionEvent[] = [];
  store.onNotification((n) => notifications.push(n));
  store.onSessionEvent((e) => sessions.push(e));
  const saw = (type: Notification['type'], path: string) =>
    waitFor(
      `${type} ${path}`,
      () => notifications.some((n) => n.type === type && n.path === path),
      5000,
    );
  return { notifications, sessions, saw };
}

interface Namespace {
  /** A session over this test's own namespace. */
  open(): Promise<MetadataStore>;
}

const implementations: { name: string; namespace(): Namespace }[] = [
  {
    name: 'in-memory',
    namespace() {
      const tree = new MemoryMetadataTree();
      return { open: async () => track(tree.newSession()) };
    },
  },
  {
    name: 'ZooKeeper',
    namespace() {
      const chroot = `/contract/n${++namespaceCounter}`;
      return { open: () => openZk(chroot) };
    },
  },
];

describe.each(implementations)('metadata store contract: $name', (impl) => {
  it('versions every write and enforces expected versions', async () => {
    const store = await impl.namespace().open();
    const before = Date.now();
    const created = await store.put('/a/b', Buffer.from('1'), { expectedVersion: -1 });
    expect(created.version).toBe(0);
    await expect(
      store.put('/a/b', Buffer.from('x'), { expectedVersion: -1 }),
    ).rejects.toBeInstanceOf(BadVersionError);
    await expect(
      store.put('/a/b', Buffer.from('x'), { expectedVersion: 5 }),
    ).rejects.toBeInstanceOf(BadVersionError);
    await expect(
      store.put('/a/none', Buffer.from('x'), { expectedVersion: 0 }),
    ).rejects.toBeInstanceOf(BadVersionError);
    expect((await store.put('/a/b', Buffer.from('2'), { expectedVersion: 0 })).version).toBe(1);
    expect((await store.put('/a/b', Buffer.from('3'))).version).toBe(2);
    const read = await store.get('/a/b');
    expect(read?.value.toString()).toBe('3');
    expect(read?.stat.version).toBe(2);
    expect(read?.stat.ephemeral).toBe(false);
    expect(typeof read?.stat.createdAt).toBe('number');
    expect(read!.stat.createdAt).toBeGreaterThan(before - 60_000);
    expect(read!.stat.createdAt).toBeLessThan(Date.now() + 60_000);
    expect(read!.stat.modifiedAt).toBeGreaterThanOrEqual(read!.stat.createdAt);
    expect((await store.exists('/a/b'))?.version).toBe(2);
    expect(await store.exists('/a/none')).toBeNull();
    expect(await store.get('/a/none')).toBeNull();

    await expect(store.delete('/a')).rejects.toThrow(/children/);
    await expect(store.delete('/a/b', 0)).rejects.toBeInstanceOf(BadVersionError);
    await store.delete('/a/b', 2);
    expect(await store.get('/a/b')).toBeNull();
    await expect(store.delete('/a/b')).rejects.toBeInstanceOf(NotFoundError);
    // An unconditional put creates.
    expect((await store.put('/a/c', Buffer.from('new'))).version).toBe(0);
  });

  it('creates missing parents as persistent nodes, also when writers race for them', async () => {
    const ns = impl.namespace();
    const [a, b] = [await ns.open(), await ns.open()];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).put(`/p/q/r/${String(i).padStart(2, '0')}`, Buffer.from(String(i)), {
          ephemeral: i % 3 === 0,
        }),
      ),
    );
    const names = await a.children('/p/q/r');
    expect(names).toHaveLength(20);
    for (const parent of ['/p', '/p/q', '/p/q/r']) {
      const node = await b.get(parent);
      expect(node?.stat.ephemeral).toBe(false);
      expect(node?.value.length).toBe(0);
    }
    expect((await b.get('/p/q/r/03'))?.stat.ephemeral).toBe(true);
  });

  it('lists children sorted, and none for a missing node', async () => {
    const store = await impl.namespace().open();
    for (const name of ['c', 'a', 'b10', 'b2']) await store.put(`/list/${name}`, Buffer.alloc(0));
    expect(await store.children('/list')).toEqual(['a', 'b10', 'b2', 'c']);
    expect(await store.children('/missing')).toEqual([]);
    expect(await store.children('/list/a')).toEqual([]);
  });

  it('removes ephemeral nodes when their session closes, and only theirs', async () => {
    const ns = impl.namespace();
    const owner = await ns.open();
    const other = await ns.open();
    await owner.put('/brokers/1', Buffer.from('{"id":1}'), { ephemeral: true });
    await owner.put('/brokers/keep', Buffer.from('persistent'));
    await other.put('/brokers/2', Buffer.from('{"id":2}'), { ephemeral: true });
    expect((await other.exists('/brokers/1'))?.ephemeral).toBe(true);
    await owner.close();
    expect(await other.get('/brokers/1')).toBeNull();
    expect((await other.get('/brokers/keep'))?.value.toString()).toBe('persistent');
    expect((await other.get('/brokers/2'))?.stat.ephemeral).toBe(true);
    await expect(owner.put('/x', Buffer.alloc(0))).rejects.toThrow(/closed/);
  });

  it('deletes a tree of any depth', async () => {
    const store = await impl.namespace().open();
    let path = '/d';
    for (let depth = 0; depth < 7; depth++) {
      path += `/l${depth}`;
      await store.put(path, Buffer.from(path));
      await store.put(`${path}-sibling/leaf`, Buffer.from('x'));
    }
    await store.put('/keep/me', Buffer.alloc(0));
    await store.deleteRecursive('/d/l0');
    expect(await store.exists('/d/l0')).toBeNull();
    expect(await store.children('/d')).toEqual(['l0-sibling']);
    await store.deleteRecursive('/d');
    expect(await store.exists('/d')).toBeNull();
    expect(await store.exists('/keep/me')).not.toBeNull();
    await store.deleteRecursive('/never-there');
  });

  it('notifies created, modified, deleted and children-changed for the paths a store reads', async () => {
    const ns = impl.namespace();
    const writer = await ns.open();
    const reader = await ns.open();
    await writer.put('/w', Buffer.alloc(0));
    const seen = record(reader);
    expect(await reader.get('/w/x')).toBeNull();
    expect(await reader.children('/w')).toEqual([]);

    await writer.put('/w/x', Buffer.from('1'));
    await seen.saw('created', '/w/x');
    await seen.saw('children-changed', '/w');

    seen.notifications.length = 0;
    await writer.put('/w/x', Buffer.from('2'));
    await seen.saw('modified', '/w/x');
    await writer.put('/w/y', Buffer.from('1'));
    await seen.saw('children-changed', '/w');

    seen.notifications.length = 0;
    await writer.delete('/w/x');
    await seen.saw('deleted', '/w/x');
    await seen.saw('children-changed', '/w');

    // Watches come back after every event: the deleted node's re-creation is seen too.
    seen.notifications.length = 0;
    await writer.put('/w/x', Buffer.from('3'));
    await seen.saw('created', '/w/x');
    expect(seen.sessions).toEqual([]);
  });

  it('reads without a watch what a watched read reads, and takes unwatch for any path', async () => {
    const ns = impl.namespace();
    const writer = await ns.open();
    const reader = await ns.open();
    await writer.put('/r/a', Buffer.from('1'));
    expect((await reader.get('/r/a', { watch: false }))?.value.toString()).toBe('1');
    expect((await reader.get('/r/a', { watch: false }))?.stat.version).toBe(0);
    expect(await reader.get('/r/none', { watch: false })).toBeNull();
    expect((await reader.exists('/r/a', { watch: false }))?.version).toBe(0);
    expect(await reader.exists('/r/none', { watch: false })).toBeNull();
    expect(await reader.children('/r', { watch: false })).toEqual(['a']);
    expect(await reader.children('/none', { watch: false })).toEqual([]);
    reader.unwatch('/r/a');
    reader.unwatch('/never-read');
    expect((await reader.get('/r/a'))?.value.toString()).toBe('1');
  });

  it('feeds a metadata cache that drops what changes', async () => {
    const ns = impl.namespace();
    const writer = await ns.open();
    const cache = new MetadataCache(await ns.open());
    try {
      await writer.put('/c/one', Buffer.from('1'));
      expect((await cache.get('/c/one'))?.value.toString()).toBe('1');
      expect(await cache.get('/c/two')).toBeNull();
      await writer.put('/c/one', Buffer.from('2'));
      await writer.put('/c/two', Buffer.from('new'));
      await waitFor('invalidated', () => cache.peek('/c/one') === undefined, 5000);
      await waitFor('invalidated', () => cache.peek('/c/two') === undefined, 5000);
      expect((await cache.get('/c/one'))?.value.toString()).toBe('2');
      expect((await cache.get('/c/two'))?.value.toString()).toBe('new');
      await writer.delete('/c/one');
      await waitFor('invalidated', () => cache.peek('/c/one') === undefined, 5000);
      expect(await cache.get('/c/one')).toBeNull();
    } finally {
      cache.close();
    }
  });
});

describe('ZooKeeper store', () => {
  it('opens only zk: urls it can parse, and fails clearly when no server answers', async () => {
    await expect(openMetadataStore('zk:')).rejects.toThrow(/invalid ZooKeeper url/);
    const closedPort = zk.port === 1 ? 2 : 1;
    const started = Date.now();
    await expect(
      openMetadataStore(`zk:127.0.0.1:${closedPort}`, { operationTimeoutMs: 500 }),
    ).rejects.toBeInstanceOf(MetadataUnavailableError);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('keeps everything under its chroot, creating the chroot when missing', async () => {
    const root = await openZk();
    expect(await root.exists('/tenant-a/koppa')).toBeNull();
    const store = await openZk('/tenant-a/koppa');
    expect((await root.exists('/tenant-a/koppa'))?.ephemeral).toBe(false);
    await store.put('/topics/t1', Buffer.from('v'));
    expect((await root.get('/tenant-a/koppa/topics/t1'))?.value.toString()).toBe('v');
    expect(await store.children('/')).toEqual(['topics']);
    const seen = record(store);
    expect(await store.get('/topics/t2')).toBeNull();
    await root.put('/tenant-a/koppa/topics/t2', Buffer.from('w'));
    await seen.saw('created', '/topics/t2');
    await store.deleteRecursive('/');
    expect(await root.children('/tenant-a/koppa')).toEqual([]);
    expect(await root.exists('/tenant-a/koppa')).not.toBeNull();
  });

  it('rides out a ZooKeeper restart: operations wait, the session and its data survive', async () => {
    const store = await openZk('/restart', {
      sessionTimeoutMs: 20_000,
      operationTimeoutMs: 15_000,
    });
    const other = await openZk('/restart');
    await store.put('/persistent', Buffer.from('p'));
    await store.put('/ephemeral', Buffer.from('e'), { ephemeral: true });
    const seen = record(store);
    expect(await store.get('/watched')).toBeNull();

    const restarting = zk.restart();
    await waitFor('disconnected', () => seen.sessions.includes('disconnected'), 10_000);
    const during = store.put('/written-while-down', Buffer.from('w'));
    await restarting;
    await during;
    await waitFor('connected', () => seen.sessions.includes('connected'), 10_000);

    expect(seen.sessions).toEqual(['disconnected', 'connected']);
    expect((await store.get('/persistent'))?.value.toString()).toBe('p');
    expect((await store.get('/written-while-down'))?.value.toString()).toBe('w');
    expect((await other.get('/ephemeral'))?.stat.ephemeral).toBe(true);
    await other.put('/watched', Buffer.from('now'));
    await seen.saw('created', '/watched');
  });

  it('fails an operation after its timeout while the server does not answer, then recovers', async () => {
    const store = await openZk('/paused', { sessionTimeoutMs: 10_000, operationTimeoutMs: 800 });
    await store.put('/before', Buffer.from('1'));
    zk.pause();
    try {
      const started = Date.now();
      await expect(store.get('/before')).rejects.toBeInstanceOf(MetadataUnavailableError);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      zk.resume();
    }
    await waitFor('answers again', () => store.get('/before').catch(() => null), 10_000);
  });

  it('leaves no watch for a read without one, and notifies nothing more for an unwatched path', async () => {
    const store = await openZk('/unwatch');
    const other = await openZk('/unwatch');
    await other.put('/m/a', Buffer.from('1'));
    const seen = record(store);
    /** A change to a watched marker, seen: events from the changes before it had their turn. */
    let markers = 0;
    const settled = async () => {
      const marker = `/marker${++markers}`;
      expect(await store.get(marker)).toBeNull();
      await other.put(marker, Buffer.alloc(0));
      await seen.saw('created', marker);
      return seen.notifications.filter((n) => !n.path.startsWith('/marker'));
    };

    expect((await store.get('/m/a', { watch: false }))?.value.toString()).toBe('1');
    expect(await store.get('/m/none', { watch: false })).toBeNull();
    expect(await store.exists('/m/a', { watch: false })).not.toBeNull();
    expect(await store.children('/m', { watch: false })).toEqual(['a']);
    await other.put('/m/a', Buffer.from('2'));
    await other.put('/m/none', Buffer.from('1'));
    expect(await settled()).toEqual([]);

    // Watched, then unwatched: the watch armed on the server fires once, unnoticed, and is not
    // re-armed.
    expect((await store.get('/m/a'))?.value.toString()).toBe('2');
    expect(await store.children('/m')).toEqual(['a', 'none']);
    await other.put('/m/a', Buffer.from('3'));
    await seen.saw('modified', '/m/a');
    seen.notifications.length = 0;
    store.unwatch('/m/a');
    store.unwatch('/m');
    await other.put('/m/a', Buffer.from('4'));
    await other.put('/m/b', Buffer.from('1'));
    await other.put('/m/a', Buffer.from('5'));
    await other.delete('/m/b');
    expect(await settled()).toEqual([]);
    // A watched read while the server's watch may still be armed: watched again either way.
    expect((await store.get('/m/a'))?.value.toString()).toBe('5');
    await other.put('/m/a', Buffer.from('6'));
    await seen.saw('modified', '/m/a');

    // A one-off read of a watched path keeps it watched.
    seen.notifications.length = 0;
    expect((await store.get('/m/a', { watch: false }))?.value.toString()).toBe('6');
    await other.put('/m/a', Buffer.from('7'));
    await seen.saw('modified', '/m/a');
  });

  it('after session expiry: opens a new session, re-creates its ephemerals, re-arms its watches', async () => {
    const store = await openZk('/expiry');
    const other = await openZk('/expiry');
    await store.put('/owners/p0', Buffer.from('epoch-1'), { ephemeral: true });
    await store.put('/owners/p0', Buffer.from('epoch-2'));
    await store.put('/owners/p1', Buffer.from('gone'), { ephemeral: true });
    await store.delete('/owners/p1');
    const seen = record(store);
    expect(await store.get('/watched')).toBeNull();
    const session = store.sessionInfo().sessionId;

    await expireSession(store);
    await waitFor('reconnected', () => seen.sessions.includes('reconnected'), 10_000);
    expect(seen.sessions.filter((e) => e === 'expired')).toHaveLength(1);
    expect(seen.sessions.indexOf('expired')).toBeLessThan(seen.sessions.indexOf('reconnected'));
    expect(store.sessionInfo().sessionId).not.toBe(session);

    const owner = await other.get('/owners/p0');
    expect(owner?.value.toString()).toBe('epoch-2');
    expect(owner?.stat.ephemeral).toBe(true);
    expect(await other.get('/owners/p1')).toBeNull();

    await other.put('/watched', Buffer.from('1'));
    await seen.saw('created', '/watched');
    // The re-created ephemeral belongs to the new session: closing the store removes it.
    await store.close();
    expect(await other.get('/owners/p0')).toBeNull();
  });

  it('reports what changed while it had no session, and presumes expiry while cut off', async () => {
    const proxy = new TcpProxy();
    proxy.targetPort = zk.port;
    await proxy.listen();
    try {
      const store = track(
        await ZooKeeperMetadataStore.open(`zk:127.0.0.1:${proxy.port}/cut`, {
          sessionTimeoutMs: 1500,
          operationTimeoutMs: 10_000,
        }),
      );
      const other = await openZk('/cut');
      await store.put('/mine', Buffer.from('m'), { ephemeral: true });
      await store.put('/taken', Buffer.from('mine'), { ephemeral: true });
      await other.put('/changes', Buffer.from('1'));
      await other.put('/removed', Buffer.from('1'));
      await other.put('/dir/a', Buffer.alloc(0));
      const seen = record(store);
      await store.get('/changes');
      await store.get('/removed');
      await store.get('/appears');
      await store.children('/dir');

      // Cut the store off: connections through the proxy now fail.
      proxy.targetPort = 1;
      proxy.cutAll();
      await waitFor('presumed expired', () => seen.sessions.includes('expired'), 10_000);
      expect(seen.sessions).toEqual(['disconnected', 'expired']);
      // Make sure the server has expired it too (it has not heard from it for the timeout).
      await waitFor(
        'server expired the session',
        async () => (await other.get('/mine')) === null,
        10_000,
      );
      await other.put('/changes', Buffer.from('2'));
      await other.delete('/removed');
      await other.put('/appears', Buffer.from('1'));
      await other.put('/dir/b', Buffer.alloc(0));
      await other.put('/taken', Buffer.from('theirs'), { ephemeral: true });
      expect(seen.notifications).toEqual([]);

      proxy.targetPort = zk.port;
      await waitFor('reconnected', () => seen.sessions.includes('reconnected'), 15_000);
      expect(seen.sessions).toEqual(['disconnected', 'expired', 'reconnected']);
      expect(seen.notifications).toEqual(
        expect.arrayContaining([
          { type: 'modified', path: '/changes' },
          { type: 'deleted', path: '/removed' },
          { type: 'created', path: '/appears' },
          { type: 'children-changed', path: '/dir' },
        ]),
      );
      expect((await other.get('/mine'))?.stat.ephemeral).toBe(true);
      // What another session took meanwhile stays theirs.
      expect((await other.get('/taken'))?.value.toString()).toBe('theirs');
      expect((await store.get('/changes'))?.value.toString()).toBe('2');
    } finally {
      await proxy.close();
    }
  });
});
