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

/** One client's entries: topic → partition → entry. */
interface ClientEntries {
  readonly byTopic: Map<string, Map<number, AwaitingEntry>>;
  size: number;
}

export class AwaitingGroups {
  /**
   * Every entry, oldest first (a Set keeps insertion order), so expiry stops at the first young
   * one. Entries are found through nested maps (host → client id → topic → partition), so keeping
   * and taking counts on the fetch path builds no key string.
   */
  private readonly entries = new Set<AwaitingEntry>();
  private readonly byHost = new Map<string, Map<string, ClientEntries>>();
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
    messages: number,
    bytes: number,
    batches: number,
    now: number,
  ): boolean {
    const ofClient = this.byHost.get(client.clientHost)?.get(client.clientId);
    let entry = ofClient?.byTopic.get(topic)?.get(partition);
    if (!entry) {
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
      this.entries.add(entry);
      this.index(entry, ofClient);
    }
    entry.connectionId = connectionId;
    entry.messages += messages;
    entry.bytes += bytes;
    entry.batches += batches;
    this.messages += messages;
    return true;
  }

  /** The entries of one client, as a copy: the caller may take them meanwhile. */
  ofClient(client: ClientKey): AwaitingEntry[] {
    const ofClient = this.byHost.get(client.clientHost)?.get(client.clientId);
    const entries: AwaitingEntry[] = [];
    for (const partitions of ofClient?.byTopic.values() ?? []) entries.push(...partitions.values());
    return entries;
  }

  /** Removes and returns the entry of `client`, `topic` and `partition`, if any. */
  take(client: ClientKey, topic: string, partition: number): AwaitingEntry | undefined {
    const ofHost = this.byHost.get(client.clientHost);
    const ofClient = ofHost?.get(client.clientId);
    const partitions = ofClient?.byTopic.get(topic);
    const entry = partitions?.get(partition);
    if (!entry) return undefined;
    this.entries.delete(entry);
    partitions!.delete(partition);
    if (partitions!.size === 0) ofClient!.byTopic.delete(topic);
    if (--ofClient!.size === 0) {
      ofHost!.delete(client.clientId);
      if (ofHost!.size === 0) this.byHost.delete(client.clientHost);
    }
    this.messages -= entry.messages;
    return entry;
  }

  /** Removes and returns the entries that reached the age limit. */
  expire(now: number): AwaitingEntry[] {
    const expired: AwaitingEntry[] = [];
    for (const entry of this.entries) {
      if (now - entry.since < this.options.maxAgeMs) break;
      expired.push(entry);
    }
    for (const e of expired) this.take(e.client, e.topic, e.partition);
    return expired;
  }

  private index(entry: AwaitingEntry, known: ClientEntries | undefined): void {
    let ofClient = known;
    if (ofClient === undefined) {
      const { clientHost, clientId } = entry.client;
      let ofHost = this.byHost.get(clientHost);
      if (ofHost === undefined) this.byHost.set(clientHost, (ofHost = new Map()));
      ofHost.set(clientId, (ofClient = { byTopic: new Map(), size: 0 }));
    }
    let partitions = ofClient.byTopic.get(entry.topic);
    if (partitions === undefined) ofClient.byTopic.set(entry.topic, (partitions = new Map()));
    partitions.set(entry.partition, entry);
    ofClient.size++;
  }
}
