/** A metadata store whose operations can be made to fail or hang, over a shared memory tree. */
import { pino } from 'pino';
import {
  MemoryMetadataTree,
  MetadataUnavailableError,
  type GetResult,
  type MetadataStore,
  type Notification,
  type PutOptions,
  type SessionEvent,
  type Stat,
} from '../../../src/metadata/index.js';
import { decodeNode, type MappingNode } from '../../../plugins/kafka/group-mapping/node-codec.js';

export const logger = pino({ level: 'silent' });
export const ROOT = '/client_group_id';

export type Fault = 'ok' | 'fail' | 'hang';

export class FaultyStore implements MetadataStore {
  /** Applies to every operation but notifications. */
  fault: Fault = 'ok';
  /** Operations started, by name. */
  readonly calls: string[] = [];
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

  async get(path: string): Promise<GetResult | null> {
    await this.gate('get');
    return this.inner.get(path);
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
  async exists(path: string): Promise<Stat | null> {
    await this.gate('exists');
    return this.inner.exists(path);
  }
  async children(path: string): Promise<string[]> {
    await this.gate('children');
    return this.inner.children(path);
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
