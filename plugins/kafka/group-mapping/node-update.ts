/**
 * Read-modify-write of one mapping node, conditional on the version read: a write or delete lands
 * only on the node as it was read, so two brokers editing one node (two groups of one client id)
 * never lose each other's entries, and a delete never removes what was written after its read.
 * A node left without groups is deleted (on its version too).
 */
import { BadVersionError, NotFoundError, type MetadataStore } from '../../../src/api/index.js';
import { decodeNode, encodeNode, type MappingNode } from './node-codec.js';

export const UNCHANGED = Symbol('unchanged');

/** What to make of the node as read (null: absent): the node to store, or UNCHANGED. */
export type NodeChange = (current: MappingNode | null) => MappingNode | typeof UNCHANGED;

export type UpdateOutcome = 'written' | 'deleted' | 'unchanged';

export interface UpdateOptions {
  /** Reads and writes tried in all; a conflict (the node changed since its read) uses one up. */
  attempts: number;
  /** No attempt starts after this time (Date.now() ms). */
  deadline?: number;
}

/**
 * Runs `change` on the node's current value and stores the result on the version read; on a
 * conflict reads again and retries, within `attempts` and `deadline`. Throws the store's error, or
 * the last conflict when out of attempts or time.
 */
export async function updateNode(
  store: MetadataStore,
  path: string,
  change: NodeChange,
  options: UpdateOptions,
): Promise<UpdateOutcome> {
  for (let attempt = 1; ; attempt++) {
    // A one-off read: the node is watched by whoever caches it, not by every writer.
    const read = await store.get(path, { watch: false });
    const current = read === null ? null : decodeNode(read.value);
    const next = change(current);
    try {
      if (next === UNCHANGED) return 'unchanged';
      if (next.groups.size === 0) {
        if (read === null) return 'unchanged';
        await store.delete(path, read.stat.version);
        return 'deleted';
      }
      await store.put(path, encodeNode(next), { expectedVersion: read?.stat.version ?? -1 });
      return 'written';
    } catch (err) {
      const conflict = err instanceof BadVersionError || err instanceof NotFoundError;
      const timeLeft = options.deadline === undefined || Date.now() < options.deadline;
      if (!conflict || attempt >= options.attempts || !timeLeft) throw err;
    }
  }
}
