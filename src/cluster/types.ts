/**
 * The cluster as one broker sees it: which brokers are alive, and which broker owns each
 * topic-partition (Kafka's `__consumer_offsets` partitions included, since their owners are the
 * group coordinators). Every partition has at most one owner at a time, held by an ephemeral
 * node in the metadata store, with an epoch that grows at every change of owner.
 */
import type { TopicPartition } from '../storage/types.js';

export interface BrokerInfo {
  brokerId: number;
  rack: string | null;
  /** What each protocol handler advertises, by protocol name (kafka: "PLAINTEXT://host:port,..."). */
  protocols: Record<string, string>;
  /** The broker's HTTP port (metrics, health, admin API), null when it has none. */
  httpPort: number | null;
  /** The host other brokers reach that port at (the host's `advertisedAddress`); null if unknown. */
  httpHost: string | null;
}

export interface Ownership {
  brokerId: number;
  /** 1 for the first owner, then grows at every change; a write under an older epoch is refused by the store. */
  epoch: number;
}

export type OwnershipEvent =
  /** This broker now owns the partition and may serve and write it under `epoch`. */
  | { kind: 'gained'; partition: TopicPartition; epoch: number }
  /**
   * This broker no longer owns the partition: it must stop writing at once. Not sent for
   * partitions of a deleted topic. A listener may return a promise for the rest of its reaction
   * (writes in flight settled, the log closed): see `ClusterView.onEvent`.
   */
  | { kind: 'lost'; partition: TopicPartition; epoch: number }
  /** Another broker's ownership changed, or brokers came or went: refresh what clients see. */
  | { kind: 'changed' };

export interface ClusterView {
  readonly brokerId: number;
  /** Live brokers, sorted by id. */
  liveBrokers(): BrokerInfo[];
  broker(brokerId: number): BrokerInfo | undefined;
  /** The owner as last seen (no metadata-store round trip); null while unowned. */
  ownerOf(partition: TopicPartition): Ownership | null;
  /**
   * True while this broker holds the partition ('gained' sent, 'lost' not yet), so it may write;
   * a disconnected session that may still be alive keeps it. Synchronous and cheap: called on
   * every produce.
   */
  ownsNow(partition: TopicPartition): boolean;
  /**
   * False while the metadata session is disconnected (it may have expired without this broker
   * knowing yet): readers then confirm in the store that a partition is still theirs.
   */
  connected(): boolean;
  /**
   * The first offset written under each epoch of the partition, oldest first (for
   * OffsetForLeaderEpoch); the current owner records its epoch's start when it gains it.
   */
  epochHistory(partition: TopicPartition): Promise<{ epoch: number; startOffset: number }[]>;
  /** Called by the owner once it has opened the partition under `epoch`: where that epoch starts. */
  recordEpochStart(partition: TopicPartition, epoch: number, startOffset: number): Promise<void>;
  /**
   * Called by the owner when the message store refused to claim the partition's log under
   * `epoch` because it is claimed at `claimedEpoch` >= `epoch` already: the metadata store's
   * epochs started again below the data directory's (a wiped store, a new ZooKeeper over old
   * data), and every claim would be refused. If this broker still holds the partition under
   * `epoch` (its owner node is read again first), the partition's epoch is moved past
   * `claimedEpoch` and the partition taken again: 'lost', then 'gained' under the new epoch.
   * Returns at once; the work runs in the background.
   */
  claimRefused(partition: TopicPartition, epoch: number, claimedEpoch: number): void;
  /**
   * Listens to ownership events. For 'lost', a listener may return a promise that settles once
   * it has let go of the partition (its writes settled, its log closed). When this broker gives
   * a partition up on purpose (hand-over to a preferred broker, graceful release) the owner node
   * is deleted only after those promises settle (or a bounded wait passes), so the next owner
   * finds the log released cleanly and skips the store's fence grace. After an expired session
   * nothing waits: another broker may already own the partition.
   */
  onEvent(listener: OwnershipListener): () => void;
}

export type OwnershipListener = (event: OwnershipEvent) => void | Promise<void>;
