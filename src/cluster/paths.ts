/**
 * Where the cluster keeps its state in the metadata store:
 *
 *   /koppa/brokers/<brokerId>                    ephemeral, JSON BrokerInfo
 *   /koppa/owners/<encoded topic>/<partition>    ephemeral, JSON OwnerRecord
 *   /koppa/epochs/<encoded topic>/<partition>    persistent, JSON EpochRecord
 *
 * Topic names (`persistent://tenant/namespace/topic`) hold `:` and `/`, so they are
 * percent-encoded into one path component.
 */
import type { TopicPartition } from '../storage/types.js';

export const BROKERS_ROOT = '/koppa/brokers';
export const OWNERS_ROOT = '/koppa/owners';
export const EPOCHS_ROOT = '/koppa/epochs';

/** One path component for a topic name; `decodeTopic` reverses it. */
export function encodeTopic(topic: string): string {
  // encodeURIComponent leaves `.` alone: a name of only dots would be a relative component.
  return encodeURIComponent(topic).replace(/\./g, '%2E');
}

export function decodeTopic(component: string): string {
  return decodeURIComponent(component);
}

export function brokerPath(brokerId: number): string {
  return `${BROKERS_ROOT}/${brokerId}`;
}

export function ownerPath(tp: TopicPartition): string {
  return `${OWNERS_ROOT}/${encodeTopic(tp.topic)}/${tp.partition}`;
}

export function ownersOfTopicPath(topic: string): string {
  return `${OWNERS_ROOT}/${encodeTopic(topic)}`;
}

export function epochPath(tp: TopicPartition): string {
  return `${EPOCHS_ROOT}/${encodeTopic(tp.topic)}/${tp.partition}`;
}

/** The partition an owner node path names, or undefined for any other path. */
export function partitionOfOwnerPath(path: string): TopicPartition | undefined {
  if (!path.startsWith(`${OWNERS_ROOT}/`)) return undefined;
  const parts = path.slice(OWNERS_ROOT.length + 1).split('/');
  if (parts.length !== 2 || !/^\d+$/.test(parts[1])) return undefined;
  try {
    return { topic: decodeTopic(parts[0]), partition: Number(parts[1]) };
  } catch {
    return undefined;
  }
}

/** Map key for a partition (topic names never hold NUL). */
export function partitionKey(tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`;
}
