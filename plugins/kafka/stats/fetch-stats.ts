/**
 * Consumption counts (KoP's MESSAGE_OUT, BYTES_OUT, ENTRIES_OUT) by topic, partition and group.
 * The group comes from the GroupResolver without waiting: a group id counts under that group;
 * null (a consumer using assign()) counts without a group label, as in KoP; undefined (not
 * known yet) keeps the counts aside until the resolver's onChange says the answer may be there,
 * so messages fetched before the answer are still attributed to their group. Counts that cannot
 * be kept, or whose answer never comes, count without a group and as unattributed.
 */
import type { ClientKey, GroupResolver } from '../group-mapping/types.js';
import { countBatches } from '../records/index.js';
import {
  AwaitingGroups,
  DEFAULT_AWAITING,
  type AwaitingEntry,
  type AwaitingOptions,
} from './awaiting-groups.js';
import type { SeriesPolicy } from './series-policy.js';
import { SeriesTable } from './series-table.js';

export class FetchStats {
  readonly consumed: SeriesTable;
  private readonly awaiting: AwaitingGroups;
  /** Messages counted without a group because their group's answer never came or was dropped. */
  unattributedMessages = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly groups: GroupResolver,
    options: AwaitingOptions = DEFAULT_AWAITING,
    /** Monotonic milliseconds, for the age limit. */
    private readonly now: () => number = () => performance.now(),
    /** Which groups get series of their own, and whether series keep their partition. */
    policy?: SeriesPolicy,
  ) {
    this.consumed = new SeriesTable(policy);
    this.awaiting = new AwaitingGroups(options);
    this.unsubscribe = groups.onChange((client) => this.answered(client));
  }

  /** Messages waiting for their group's answer. */
  get awaitingMessages(): number {
    return this.awaiting.messages;
  }

  /**
   * Counts the whole batches a fetch returned for `topic` (the full name, as labelled and as
   * asked of the resolver) and `partition`. Two header fields per batch, no record is read.
   */
  fetched(
    client: ClientKey,
    connectionId: number,
    topic: string,
    partition: number,
    records: Buffer,
  ): void {
    if (records.length === 0) return;
    const { batches, records: messages } = countBatches(records);
    const bytes = records.length;
    const group = this.groups.groupOf(client, connectionId, topic, partition);
    if (group !== undefined) {
      this.consumed.add(topic, partition, group, messages, bytes, batches);
      // The answer came without an onChange yet: what waited for it goes with it.
      if (this.awaiting.size > 0) {
        const kept = this.awaiting.take(client, topic, partition);
        if (kept) this.attribute(kept, group);
      }
      return;
    }
    const now = this.now();
    const { awaiting } = this;
    if (awaiting.keep(client, connectionId, topic, partition, messages, bytes, batches, now)) {
      return;
    }
    // At a cap: make room from what is too old, else these counts are given up at once.
    this.settle();
    if (awaiting.keep(client, connectionId, topic, partition, messages, bytes, batches, now)) {
      return;
    }
    this.consumed.add(topic, partition, null, messages, bytes, batches);
    this.unattributedMessages += messages;
  }

  /** Gives up the counts that waited past the age limit. Runs at every scrape. */
  settle(): void {
    for (const entry of this.awaiting.expire(this.now())) {
      this.attribute(entry, null);
      this.unattributedMessages += entry.messages;
    }
  }

  close(): void {
    this.unsubscribe();
  }

  /** The resolver may know `client`'s group now: ask again for each kept topic-partition. */
  private answered(client: ClientKey): void {
    for (const entry of this.awaiting.ofClient(client)) {
      const group = this.groups.groupOf(client, entry.connectionId, entry.topic, entry.partition);
      if (group === undefined) continue;
      // Taken already if the resolver answered a fetch meanwhile (groupOf may call back).
      const taken = this.awaiting.take(client, entry.topic, entry.partition);
      if (taken) this.attribute(taken, group);
    }
  }

  private attribute(entry: AwaitingEntry, group: string | null): void {
    this.consumed.add(
      entry.topic,
      entry.partition,
      group,
      entry.messages,
      entry.bytes,
      entry.batches,
    );
  }
}
