/**
 * A mapping node's value: the groups a client (host and client id) is in, one entry per group,
 * as JSON:
 *
 *   { "groups": { "<groupId>": { "token": "<id of the write>", "broker": <brokerId>,
 *                                "at": <ms>, "assigned"?: { "<topic>": [partitions] } } } }
 *
 * - `token` is new at every FindCoordinator write of the entry: a delete compares it to tell the
 *   write it means from a newer one.
 * - `broker` and `at` say who wrote it and when (that broker's clock), for people and repairs.
 * - `assigned` is what the group's current assignment gives this client (the union over its
 *   members on this host with this client id), written by the group's coordinator after each
 *   rebalance, topics by full name (`persistent://tenant/namespace/topic`). It tells groups apart
 *   when one client (kafkajs's and librdkafka's default client ids) is in several.
 *
 * In memory the groups and topics are Maps: group ids and topic names are arbitrary strings, and
 * a plain object would treat `__proto__` specially. Decoding is lenient: a value that is not JSON
 * is read as KoP's (the group id as text), and malformed entries are skipped.
 */
import { randomUUID } from 'node:crypto';

export interface GroupEntry {
  readonly token: string;
  readonly broker: number;
  readonly at: number;
  /** Topic (full name) → sorted partitions; null until the coordinator published it. */
  readonly assigned: ReadonlyMap<string, readonly number[]> | null;
}

export interface MappingNode {
  readonly groups: ReadonlyMap<string, GroupEntry>;
}

export const EMPTY_NODE: MappingNode = { groups: new Map() };

/** A fresh token for a write. */
export function newToken(): string {
  return randomUUID();
}

export function encodeNode(node: MappingNode): Buffer {
  const groups = [...node.groups].map(([groupId, e]) => {
    const value: Record<string, unknown> = { token: e.token, broker: e.broker, at: e.at };
    if (e.assigned !== null) value.assigned = Object.fromEntries(e.assigned);
    return [groupId, value] as const;
  });
  // Object.fromEntries defines own properties, so a group or topic named __proto__ is data.
  return Buffer.from(JSON.stringify({ groups: Object.fromEntries(groups) }));
}

/** The token of an entry read from KoP's plain-text value: it never matches a Koppa write. */
export const KOP_VALUE_TOKEN = 'kop';

export function decodeNode(value: Buffer): MappingNode {
  const text = value.toString('utf8');
  if (text.trim() === '') return EMPTY_NODE;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // KoP wrote the group id itself.
    return {
      groups: new Map([[text, { token: KOP_VALUE_TOKEN, broker: -1, at: 0, assigned: null }]]),
    };
  }
  const groups = new Map<string, GroupEntry>();
  const raw = isObject(parsed) && isObject(parsed.groups) ? parsed.groups : {};
  for (const [groupId, entry] of Object.entries(raw)) {
    if (!isObject(entry) || typeof entry.token !== 'string') continue;
    groups.set(groupId, {
      token: entry.token,
      broker: typeof entry.broker === 'number' ? entry.broker : -1,
      at: typeof entry.at === 'number' ? entry.at : 0,
      assigned: decodeAssigned(entry.assigned),
    });
  }
  return { groups };
}

function decodeAssigned(value: unknown): Map<string, number[]> | null {
  if (!isObject(value)) return null;
  const assigned = new Map<string, number[]>();
  for (const [topic, partitions] of Object.entries(value)) {
    if (!Array.isArray(partitions)) continue;
    assigned.set(
      topic,
      partitions.filter((p): p is number => Number.isInteger(p)).sort((a, b) => a - b),
    );
  }
  return assigned;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---- edits (pure: each returns a new node) ---------------------------------------------------

/**
 * A FindCoordinator's write: each group gets a new entry with `token`, keeping the assignment its
 * entry had (the coordinator corrects it at the next rebalance).
 */
export function withWrite(
  node: MappingNode,
  groupIds: readonly string[],
  token: string,
  broker: number,
  at: number,
): MappingNode {
  const groups = new Map(node.groups);
  for (const groupId of groupIds) {
    groups.set(groupId, {
      token,
      broker,
      at,
      assigned: node.groups.get(groupId)?.assigned ?? null,
    });
  }
  return { groups };
}

export function withoutGroup(node: MappingNode, groupId: string): MappingNode {
  const groups = new Map(node.groups);
  groups.delete(groupId);
  return { groups };
}

export function withEntry(node: MappingNode, groupId: string, entry: GroupEntry): MappingNode {
  return { groups: new Map(node.groups).set(groupId, entry) };
}

/** Whether `assigned` holds the partition. */
export function holds(
  assigned: ReadonlyMap<string, readonly number[]>,
  topic: string,
  partition: number,
): boolean {
  return assigned.get(topic)?.includes(partition) ?? false;
}

export function sameAssigned(
  a: ReadonlyMap<string, readonly number[]> | null,
  b: ReadonlyMap<string, readonly number[]> | null,
): boolean {
  if (a === null || b === null) return a === b;
  if (a.size !== b.size) return false;
  for (const [topic, partitions] of a) {
    const other = b.get(topic);
    if (other === undefined || other.length !== partitions.length) return false;
    if (partitions.some((p, i) => other[i] !== p)) return false;
  }
  return true;
}
