/**
 * Fetched counts kept aside while the group of the client that fetched them is not known yet
 * (GroupResolver.groupOf answered undefined), one entry per client, topic and partition, until
 * the answer arrives. Bounded: at most `maxPerClient` entries for one client and `maxEntries`
 * in all; an entry is given up `maxAgeMs` after its first count. What cannot be kept, or is
 * given up, is the caller's to count without a group.
 */
import type { ClientKey } from '../group-mapping/types.js';

export interface AwaitingOptions {
  /** Topic-partitions kept for one client. */
  maxPerClient: number;
  /** Topic-partitions kept in all. */
  maxEntries: number;
  /** How long counts wait for their group. */
  maxAgeMs: number;
}

export const DEFAULT_AWAITING: AwaitingOptions = {
  maxPerClient: 1_000,
  maxEntries: 10_000,
  // Long enough for a mapping repaired by a reconciler pass, short enough for dashboards.
  maxAgeMs: 5 * 60_000,
};

export interface AwaitingEntry {
  readonly client: ClientKey;
  /** The connection of the latest fetch counted here: the one to ask the resolver about. */
  connectionId: number;
  readonly topic: string;
  readonly partition: number;
  messages: number;
  bytes: number;
  batches: number;
  /** When the first count was kept: the age limit runs from here. */
  readonly since: number;
}

export function clientKeyOf(client: ClientKey): string {
  return `${client.clientHost}\0${client.clientId}`;
}

export class AwaitingGroups {
  /** Every entry, oldest first (a Map keeps insertion order), so expiry stops at the first young one. */
  private readonly entries = new Map<string, AwaitingEntry>();
  private readonly byClient = new Map<string, Map<string, AwaitingEntry>>();
  /** Messages in all entries. */
  messages = 0;

  constructor(private readonly options: AwaitingOptions = DEFAULT_AWAITING) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Adds a fetch's counts to the entry of its client, topic and partition, creating it if the
   * caps allow. False when they do not: the counts were not kept.
   */
  keep(
    client: ClientKey,
    connectionId: number,
    topic: string,
    partition: number,
    counts: { messages: number; bytes: number; batches: number },
    now: number,
  ): boolean {
    const clientKey = clientKeyOf(client);
    const key = `${clientKey}\0${topic}\0${partition}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const ofClient = this.byClient.get(clientKey);
      if (this.entries.size >= this.options.maxEntries) return false;
      if (ofClient && ofClient.size >= this.options.maxPerClient) return false;
      entry = {
        client,
        connectionId,
        topic,
        partition,
        messages: 0,
        bytes: 0,
        batches: 0,
        since: now,
      };
      this.entries.set(key, entry);
      if (ofClient) ofClient.set(key, entry);
      else this.byClient.set(clientKey, new Map([[key, entry]]));
    }
    entry.connectionId = connectionId;
    entry.messages += counts.messages;
    entry.bytes += counts.bytes;
    entry.batches += counts.batches;
    this.messages += counts.messages;
    return true;
  }

  /** The entries of one client, as a copy: the caller may take them meanwhile. */
  ofClient(client: ClientKey): AwaitingEntry[] {
    return [...(this.byClient.get(clientKeyOf(client))?.values() ?? [])];
  }

  /** Removes and returns the entry of `client`, `topic` and `partition`, if any. */
  take(client: ClientKey, topic: string, partition: number): AwaitingEntry | undefined {
    const clientKey = clientKeyOf(client);
    const key = `${clientKey}\0${topic}\0${partition}`;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    const ofClient = this.byClient.get(clientKey)!;
    ofClient.delete(key);
    if (ofClient.size === 0) this.byClient.delete(clientKey);
    this.messages -= entry.messages;
    return entry;
  }

  /** Removes and returns the entries that reached the age limit. */
  expire(now: number): AwaitingEntry[] {
    const expired: AwaitingEntry[] = [];
    for (const entry of this.entries.values()) {
      if (now - entry.since < this.options.maxAgeMs) break;
      expired.push(entry);
    }
    for (const e of expired) this.take(e.client, e.topic, e.partition);
    return expired;
  }
}
