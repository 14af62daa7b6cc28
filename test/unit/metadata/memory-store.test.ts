import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BadVersionError,
  MemoryMetadataTree,
  NotFoundError,
  openMetadataStore,
  type Notification,
} from '../../../src/metadata/index.js';
import { TopicExistsError, TopicRegistry } from '../../../src/topics/topic-registry.js';

describe('in-memory metadata store', () => {
  it('versions every write and enforces expected versions', async () => {
    const store = new MemoryMetadataTree().newSession();
    const created = await store.put('/a/b', Buffer.from('1'), { expectedVersion: -1 });
    expect(created.version).toBe(0);
    await expect(
      store.put('/a/b', Buffer.from('x'), { expectedVersion: -1 }),
    ).rejects.toBeInstanceOf(BadVersionError);
    await expect(
      store.put('/a/b', Buffer.from('x'), { expectedVersion: 5 }),
    ).rejects.toBeInstanceOf(BadVersionError);
    expect((await store.put('/a/b', Buffer.from('2'), { expectedVersion: 0 })).version).toBe(1);
    expect((await store.get('/a/b'))?.value.toString()).toBe('2');
    expect(await store.children('/a')).toEqual(['b']);
    await expect(store.delete('/a/b', 0)).rejects.toBeInstanceOf(BadVersionError);
    await store.delete('/a/b', 1);
    expect(await store.get('/a/b')).toBeNull();
    await expect(store.delete('/a/b')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('removes a session’s ephemeral nodes when it closes, and tells other sessions', async () => {
    const tree = new MemoryMetadataTree();
    const owner = tree.newSession();
    const watcher = tree.newSession();
    const seen: Notification[] = [];
    watcher.onNotification((n) => seen.push(n));
    await owner.put('/brokers/1', Buffer.from('{}'), { ephemeral: true });
    expect((await watcher.exists('/brokers/1'))?.ephemeral).toBe(true);
    await owner.close();
    expect(await watcher.get('/brokers/1')).toBeNull();
    expect(seen).toContainEqual({ type: 'created', path: '/brokers/1' });
    expect(seen).toContainEqual({ type: 'deleted', path: '/brokers/1' });
    await expect(owner.put('/x', Buffer.alloc(0))).rejects.toThrow(/closed/);
  });

  it('reads alike with or without a watch, and notifies every change, unwatched or not', async () => {
    const tree = new MemoryMetadataTree();
    const writer = tree.newSession();
    const reader = tree.newSession();
    const seen: Notification[] = [];
    reader.onNotification((n) => seen.push(n));
    await writer.put('/m/a', Buffer.from('1'));
    expect((await reader.get('/m/a', { watch: false }))?.value.toString()).toBe('1');
    expect((await reader.exists('/m/a', { watch: false }))?.version).toBe(0);
    expect(await reader.children('/m', { watch: false })).toEqual(['a']);
    reader.unwatch('/m/a');
    reader.unwatch('/m');
    seen.length = 0;
    await writer.put('/m/a', Buffer.from('2'));
    expect(seen).toEqual([{ type: 'modified', path: '/m/a' }]);
    expect(() => reader.unwatch('relative')).toThrow(/invalid metadata path/);
  });

  describe('with a snapshot file', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'koppa-meta-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('keeps persistent nodes across restarts, never ephemeral ones', async () => {
      const url = `file:${join(dir, 'metadata.json')}`;
      const first = await openMetadataStore(url);
      await first.put('/keep', Buffer.from('yes'));
      await first.put('/session', Buffer.from('no'), { ephemeral: true });
      const second = await openMetadataStore(url, { trees: new Map() });
      expect((await second.get('/keep'))?.value.toString()).toBe('yes');
      expect(await second.get('/session')).toBeNull();
    });
  });
});

describe('topic registry', () => {
  it('creates topics once, caches them, and follows changes made through another session', async () => {
    const tree = new MemoryMetadataTree();
    const logger = pino({ level: 'silent' });
    const a = new TopicRegistry(tree.newSession(), logger);
    const b = new TopicRegistry(tree.newSession(), logger);
    await a.start();
    await b.start();
    const topic = await a.create('persistent://public/default/orders', 3, {
      'retention.ms': '1000',
    });
    expect(topic.id).toHaveLength(16);
    await expect(b.create('persistent://public/default/orders', 1)).rejects.toBeInstanceOf(
      TopicExistsError,
    );
    await new Promise((r) => setImmediate(r));
    expect(b.get('persistent://public/default/orders')?.partitions).toBe(3);
    expect(b.getById(topic.id)?.name).toBe('persistent://public/default/orders');
    await b.setPartitionCount('persistent://public/default/orders', 5);
    await new Promise((r) => setImmediate(r));
    expect(a.get('persistent://public/default/orders')?.partitions).toBe(5);
    await a.delete('persistent://public/default/orders');
    expect(b.list()).toEqual([]);
  });
});
