import { MemoryMetadataTree, type MemoryMetadataStore } from './memory-store.js';
import type { MetadataStore } from './types.js';
import { ZooKeeperMetadataStore, type ZooKeeperStoreOptions } from './zk-store.js';

export * from './types.js';
export { MemoryMetadataStore, MemoryMetadataTree } from './memory-store.js';
export {
  InstrumentedMetadataStore,
  METADATA_OPERATION_BUCKETS,
  type MetadataOperation,
} from './instrumented-store.js';
export { MetadataCache, type MetadataCacheOptions } from './metadata-cache.js';
export {
  ZooKeeperMetadataStore,
  parseZooKeeperUrl,
  type ZooKeeperAddress,
  type ZooKeeperStoreOptions,
} from './zk-store.js';

export interface OpenMetadataStoreOptions extends ZooKeeperStoreOptions {
  /** Brokers in one process that name the same `memory:` or `file:` url share one tree. */
  trees?: Map<string, MemoryMetadataTree>;
}

/**
 * Opens the store a `metadataStoreUrl` names: `memory:`, `file:PATH` (in memory, persistent
 * nodes snapshotted to PATH) or `zk:host:port[,host:port...][/chroot]`. A ZooKeeper store is
 * connected (and its chroot created) when the promise resolves; the ZooKeeper options apply
 * only to it.
 */
export async function openMetadataStore(
  url: string,
  options: OpenMetadataStoreOptions = {},
): Promise<MetadataStore> {
  if (url.startsWith('zk:')) return ZooKeeperMetadataStore.open(url, options);
  const trees = options.trees ?? new Map<string, MemoryMetadataTree>();
  let tree = trees.get(url);
  if (!tree) {
    if (url === 'memory:') tree = new MemoryMetadataTree();
    else if (url.startsWith('file:')) tree = new MemoryMetadataTree(url.slice('file:'.length));
    else {
      throw new Error(
        `unsupported metadataStoreUrl ${url}: expected memory:, file:PATH or zk:host:port[,host:port...][/chroot]`,
      );
    }
    trees.set(url, tree);
  }
  return tree.newSession() satisfies MemoryMetadataStore;
}
