import { randomBytes } from 'node:crypto';
import { BadVersionError, type MetadataStore } from '../../src/api/index.js';

const CLUSTER_ID_PATH = '/koppa/kafka/cluster-id';

/** Kafka's cluster id (22 base64url characters), created by the first broker and shared by all. */
export async function loadOrCreateClusterId(store: MetadataStore): Promise<string> {
  const existing = await store.get(CLUSTER_ID_PATH);
  if (existing) return existing.value.toString('utf8');
  const id = randomBytes(16).toString('base64url');
  try {
    await store.put(CLUSTER_ID_PATH, Buffer.from(id), { expectedVersion: -1 });
    return id;
  } catch (err) {
    if (!(err instanceof BadVersionError)) throw err;
    const winner = await store.get(CLUSTER_ID_PATH);
    if (!winner) throw err;
    return winner.value.toString('utf8');
  }
}
