/** A metadata store whose operations can be made to fail or hang, over a shared memory tree. */
import { pino } from 'pino';
import {
  MemoryMetadataTree,
  MetadataUnavailableError,
  type GetResult,
  type MetadataStore,
  type Notification,
  type PutOptions,
  type ReadOptions,
  type SessionEvent,
  type Stat,
} from '../../../src/metadata/index.js';
import { CoordinatorLifecycle } from '../../../plugins/kafka/group-mapping/lifecycle.js';
import { MappingCache } from '../../../plugins/kafka/group-mapping/node-cache.js';
import { decodeNode, type MappingNode } from '../../../plugins/kafka/group-mapping/node-codec.js';
import { newGroupMappingStats } from '../../../plugins/kafka/group-mapping/stats.js';
import { MappingWriter } from '../../../plugins/kafka/group-mapping/writer.js';
import { Writer, encodeConsumerProtocolAssignment } from '../../../plugins/kafka/protocol/index.js';
import { harness } from '../coordinator/helpers.js';

export const logger = pino({ level: 'silent' });
export const ROOT = '/client_group_id';

export type Fault = 'ok' | 'fail' | 'hang';

export class FaultyStore implements MetadataStore {
  /** Applies to every operation but notifications. */
  fault: Fault = 'ok';
  /** Operations started, by name. */
  readonly calls: string[] = [];
  /** Reads started, with whether they asked for a watch (the default). */
  readonly reads: { op: string; path: string; watch: boolean }[] = [];
  /** Paths unwatched. */
  readonly unwatched: string[] = [];
  private hung: (() => void)[] = [];

  constructor(readonly inner: MetadataStore) {}

  /** Lets hung operations proceed, and later ones run normally. */
  release(): void {
    this.fault = 'ok';
    const hung = this.hung;
    this.hung = [];
    for (const go of hung) go();
  }

  private async gate(name: string): Promise<void> {
    this.calls.push(name);
    if (this.fault === 'fail') throw new MetadataUnavailableError(`${name}: no ZooKeeper`);
    if (this.fault === 'hang') await new Promise<void>((resolve) => this.hung.push(resolve));
  }

  async get(path: string, options?: ReadOptions): Promise<GetResult | null> {
    this.reads.push({ op: 'get', path, watch: options?.watch ?? true });
    await this.gate('get');
    return this.inner.get(path, options);
  }
  async put(path: string, value: Buffer, options?: PutOptions): Promise<Stat> {
    await this.gate('put');
    return this.inner.put(path, value, options);
  }
  async delete(path: string, expectedVersion?: number): Promise<void> {
    await this.gate('delete');
    return this.inner.delete(path, expectedVersion);
  }
  async deleteRecursive(path: string): Promise<void> {
    await this.gate('deleteRecursive');
    return this.inner.deleteRecursive(path);
  }
  async exists(path: string, options?: ReadOptions): Promise<Stat | null> {
    this.reads.push({ op: 'exists', path, watch: options?.watch ?? true });
    await this.gate('exists');
    return this.inner.exists(path, options);
  }
  async children(path: string, options?: ReadOptions): Promise<string[]> {
    this.reads.push({ op: 'children', path, watch: options?.watch ?? true });
    await this.gate('children');
    return this.inner.children(path, options);
  }
  unwatch(path: string): void {
    this.unwatched.push(path);
    this.inner.unwatch(path);
  }
  onNotification(listener: (n: Notification) => void): () => void {
    return this.inner.onNotification(listener);
  }
  onSessionEvent(listener: (event: SessionEvent) => void): () => void {
    return this.inner.onSessionEvent(listener);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Two sessions over one tree, as two brokers over one ZooKeeper. */
export function stores(): { tree: MemoryMetadataTree; a: FaultyStore; b: FaultyStore } {
  const tree = new MemoryMetadataTree();
  return { tree, a: new FaultyStore(tree.newSession()), b: new FaultyStore(tree.newSession()) };
}

export async function readNode(store: MetadataStore, path: string): Promise<MappingNode | null> {
  const got = await store.get(path);
  return got === null ? null : decodeNode(got.value);
}

export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export const HOST = '10.0.0.1';
export const fullTopicName = (t: string) => `persistent://public/default/${t}`;

/**
 * A coordinator (owning every __consumer_offsets partition, on a manual clock) with the mapping's
 * coordinator side on one store session, and FindCoordinator answered through another (`front`,
 * as another broker). `settle` lets the background work finish; `node` reads a client's node.
 */
export function coordinatorSide(options: { shuttingDown?: () => boolean } = {}) {
  const { a: store, b: frontStore } = stores();
  const h = harness();
  const stats = newGroupMappingStats();
  const cache = new MappingCache({ store, root: ROOT, logger, stats });
  const lifecycle = new CoordinatorLifecycle({
    store,
    root: ROOT,
    brokerId: 1,
    cache,
    coordinator: h.coordinator,
    fullTopicName,
    isShuttingDown: options.shuttingDown ?? (() => false),
    logger,
    stats,
  });
  const front = new MappingWriter({
    store: frontStore,
    root: ROOT,
    brokerId: 0,
    timeoutMs: 1000,
    logger,
    stats: newGroupMappingStats(),
  });
  const settle = async () => {
    for (let i = 0; i < 5; i++) {
      await flush();
      await lifecycle.drain();
    }
  };
  const node = (clientId: string) => readNode(store, `${ROOT}/${HOST}-${clientId}`);
  return { h, store, frontStore, stats, cache, lifecycle, front, settle, node };
}

/** ConsumerProtocolAssignment bytes (version 0) giving these partitions of these topics. */
export function consumerAssignment(topics: Record<string, number[]>): Buffer {
  const w = new Writer();
  w.int16(0);
  encodeConsumerProtocolAssignment(w, 0, {
    assignedPartitions: Object.entries(topics).map(([topic, partitions]) => ({
      topic,
      partitions,
    })),
    userData: null,
  });
  return w.toBuffer();
}
