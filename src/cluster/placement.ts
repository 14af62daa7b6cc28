/**
 * Deterministic placement by rendezvous (highest random weight) hashing: every broker computes
 * the same preferred owner from the same live-broker list, with no coordination, and when a
 * broker joins or leaves only the partitions it wins or held move.
 */
import type { TopicPartition } from '../storage/types.js';

/** FNV-1a over the UTF-8 bytes, then a final avalanche so nearby inputs spread well. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(text, 'utf8');
  for (const byte of bytes) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The preferred owner among `brokerIds` (ties, vanishingly rare, go to the higher id). */
export function preferredBroker(
  tp: TopicPartition,
  brokerIds: Iterable<number>,
): number | undefined {
  let best: number | undefined;
  let bestWeight = -1;
  const prefix = `${tp.topic}/${tp.partition}/`;
  for (const id of brokerIds) {
    const weight = hash32(prefix + id);
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && id > best)) {
      best = id;
      bestWeight = weight;
    }
  }
  return best;
}
