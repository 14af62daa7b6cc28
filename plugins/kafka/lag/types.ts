/**
 * What the consumer-lag code offers the rest of the Kafka handler: partition log positions read
 * from their owners (any broker may ask), and each coordinator's latest lag sample of its groups.
 */

/** Asked of a partition's owner at `LOG_POSITIONS_PATH` (POST, JSON). */
export interface LogPositionsQuery {
  /** Full topic name (`persistent://public/default/orders`). */
  topic: string;
  partition: number;
  /** Offsets whose batch timestamps are wanted (committed offsets, for time lag). */
  timestampsAt?: number[];
}

/** One partition's log positions as its owner read them. */
export interface LogPositions {
  topic: string;
  partition: number;
  /** Absent when `error` is set. */
  logStartOffset?: number;
  logEndOffset?: number;
  /** Bytes the log holds, all segments together. */
  sizeBytes?: number;
  /**
   * By offset asked for: the first timestamp (ms) of the batch holding it (for an offset below
   * the log start, of the log's first batch: the oldest message left to consume), or null when
   * no record is there (at or past the log end).
   */
  timestamps?: Record<string, number | null>;
  /** Why no positions: the broker asked does not own the partition, or it could not be reached. */
  error?: string;
}

/** The owner-local route other brokers ask; it answers only for partitions it owns. */
export const LOG_POSITIONS_PATH = '/internal/v1/log-positions';

/** Positions of partitions anywhere in the cluster: owned ones read locally, others from owners. */
export interface LogPositionsReader {
  read(queries: LogPositionsQuery[]): Promise<LogPositions[]>;
}

/** A group's lag on one partition, as its coordinator last sampled it. */
export interface GroupPartitionLag {
  topic: string;
  partition: number;
  committedOffset: number;
  /** Null when the partition's owner could not be asked at the last sample. */
  logEndOffset: number | null;
  /** Messages: log end offset minus committed offset, never below 0; null when unknown. */
  lag: number | null;
  /** Seconds from the committed offset's batch timestamp to the sample; 0 when caught up. */
  lagSeconds: number | null;
  /** When the sample was taken (ms since the epoch). */
  sampledAt: number;
}

/** Each coordinator's view of its own groups' lag. */
export interface GroupLagView {
  /** The latest sample for a group this broker coordinates; undefined for any other group. */
  lagOf(group: string): GroupPartitionLag[] | undefined;
}
