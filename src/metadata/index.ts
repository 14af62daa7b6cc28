import { MemoryMetadataTree, type MemoryMetadataStore } from './memory-store.js';
import type { MetadataStore } from './types.js';

export * from './types.js';
export { MemoryMetadataStore, MemoryMetadataTree } from './memory-store.js';

/**
 * Opens the store a `metadataStoreUrl` names: `memory:` or `file:PATH`. `zk:` comes with the
 * cluster. Brokers in one process that name the same url share one tree.
 */
export function openMetadataStore(
  url: string,
  trees = new Map<string, MemoryMetadataTree>(),
): MetadataStore {
  let tree = trees.get(url);
  if (!tree) {
    if (url === 'memory:') tree = new MemoryMetadataTree();
    else if (url.startsWith('file:')) tree = new MemoryMetadataTree(url.slice('file:'.length));
    else throw new Error(`unsupported metadataStoreUrl ${url}: expected memory: or file:PATH`);
    trees.set(url, tree);
  }
  return tree.newSession() satisfies MemoryMetadataStore;
}
