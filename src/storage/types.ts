/**
 * The message store: an append-only log per topic-partition holding record batches
 * (Kafka magic v2) as the client sent them. The store assigns offsets by rewriting each
 * batch's baseOffset field (outside the CRC'd range); every other byte is kept as it came.
 *
 * Ownership fencing. Several brokers may share one store's data (brokers of one host over one
 * data directory, each with its own FileMessageStore, or one store shared in process). Each
 * partition has one owner at a time, with an epoch that grows at every change of owner (kept by
 * the cluster, not here). The owner opens the log with a claim for its epoch
 * (`openLog(tp, config, { epoch })`): the claim is recorded durably before the log is read, and
 * every write to the log (each group of appends, a roll, a log start change, retention, the
 * clean-shutdown marker) first checks that the recorded claim is still the one this log object
 * was opened with, and appends check it again once written, before they are acknowledged. Once a
 * newer claim exists, the older object refuses every write with FencedError (for good), whichever
 * process holds it, so a broker that lost a partition can never append to it again. The new owner
 * sees everything the old one had acknowledged; a write the old one had submitted before the
 * claim may still land after it, and is then neither acknowledged nor ever read (the new owner
 * appends to a new segment file; see owner-fence for the exact guarantees).
 */

export interface TopicPartition {
  /** Full topic name as the host names it, e.g. `persistent://public/default/orders`. */
  readonly topic: string;
  readonly partition: number;
}

/** Per-log settings; every field has a store-wide default (see `LogDefaults`). */
export interface LogConfig {
  /** Roll to a new segment when the active one reaches this size. */
  segmentBytes: number;
  /** Roll to a new segment when the active one is older than this. */
  segmentMs: number;
  /** Delete closed segments whose newest record is older than this; -1 keeps forever. */
  retentionMs: number;
  /** Delete oldest closed segments while the log is larger than this; -1 means no limit. */
  retentionBytes: number;
  /** fsync after this many appended messages; -1 disables the count trigger. */
  flushIntervalMessages: number;
  /** fsync at most this long after an append; -1 disables the time trigger. */
  flushIntervalMs: number;
  /** Add a sparse offset/time index entry every this many bytes of log. */
  indexIntervalBytes: number;
}

export interface AppendResult {
  /** Offset given to the first record of the first batch. */
  baseOffset: number;
  /** Offset the next append will get. */
  logEndOffset: number;
  logStartOffset: number;
}

export interface ReadResult {
  /**
   * Whole record batches starting with the batch that holds the requested offset,
   * up to the byte budget (or one whole batch when `minOneBatch` and the first is larger).
   * Empty when the offset is the log end offset. May share memory with the store's caches:
   * treat it as read-only.
   */
  records: Buffer;
  highWatermark: number;
  logStartOffset: number;
}

export interface TimestampLookup {
  /**
   * Base offset of the first batch whose max timestamp is >= the target, raised to the log
   * start offset when that batch straddles it.
   */
  offset: number;
  /** That batch's max timestamp. */
  timestamp: number;
}

/** What a stored batch's header tells, read without its records (PartitionLog.batchHeaderAt). */
export interface StoredBatchHeader {
  baseOffset: number;
  lastOffset: number;
  /**
   * The timestamp of the batch's first record as consumers see it (ms): the header's base
   * timestamp, or its max timestamp when the batch carries log append time (every record has it).
   */
  firstTimestamp: number;
  maxTimestamp: number;
}

export class OffsetOutOfRangeError extends Error {
  constructor(
    readonly offset: number,
    readonly logStartOffset: number,
    readonly logEndOffset: number,
  ) {
    super(`offset ${offset} is outside [${logStartOffset}, ${logEndOffset}]`);
    this.name = 'OffsetOutOfRangeError';
  }
}

/** A batch that cannot be stored as given (bad framing, wrong magic, bad length). */
export class InvalidBatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidBatchError';
  }
}

/** The log or the store was closed; the operation was not applied. */
export class LogClosedError extends Error {
  constructor(readonly topicPartition?: TopicPartition) {
    super(
      topicPartition
        ? `log ${topicPartition.topic}-${topicPartition.partition} is closed`
        : 'message store is closed',
    );
    this.name = 'LogClosedError';
  }
}

/**
 * A write or fsync of the log failed; the log takes no appends until it is reopened (which
 * recovers its tail). Kafka's KAFKA_STORAGE_ERROR.
 */
export class LogOfflineError extends Error {
  constructor(
    readonly topicPartition: TopicPartition,
    options?: { cause?: unknown },
  ) {
    super(
      `log ${topicPartition.topic}-${topicPartition.partition} is offline after an I/O failure`,
      options,
    );
    this.name = 'LogOfflineError';
  }
}

/**
 * A newer owner has claimed the log: this log object writes nothing any more (every later append
 * fails the same way). Reads still answer from what this object knew, a prefix of the log, until
 * it is closed; a store closes a log object itself when a newer claim is made through the same
 * store. Kafka's NOT_LEADER_OR_FOLLOWER. Also the answer to a claim whose epoch is not above the
 * log's current one.
 */
export class FencedError extends Error {
  constructor(
    readonly topicPartition: TopicPartition,
    /** The epoch of the fenced log object, or of the refused claim (0: opened without a claim). */
    readonly epoch: number,
    /**
     * The log's current claimed epoch when known (0: none). Below `epoch` only when a stale
     * claimer overwrote this object's claim; the owner then closes the log and claims it again.
     */
    readonly claimedEpoch: number | null,
  ) {
    super(
      `log ${topicPartition.topic}-${topicPartition.partition} is fenced: epoch ${epoch} ` +
        `is not the claimed owner epoch${claimedEpoch === null ? '' : ` (${claimedEpoch})`}`,
    );
    this.name = 'FencedError';
  }
}

/** What the owner of a partition passes to openLog. */
export interface LogClaim {
  /** The owner's epoch: a positive safe integer, above every epoch claimed on this log before. */
  readonly epoch: number;
  /**
   * How long, ms, the claim waits between recording itself and reading the log's tail, so that
   * writes of the previous owner that passed their check just before the claim have landed
   * first: appends (then read and validated like any other batch, though the previous owner does
   * not acknowledge them) and whole-file writes (indexes, markers, checkpoints; see owner-fence).
   * Acknowledged appends do not depend on it. Default: the store's fence grace
   * (FileMessageStore: `fenceGraceMs`, 2000). Skipped without asking when the previous owner
   * closed its log object cleanly (a graceful hand-over: the file store records the release, see
   * owner-fence). Unused by in-memory stores.
   */
  readonly graceMs?: number;
}

export interface PartitionLog {
  readonly topicPartition: TopicPartition;
  readonly config: LogConfig;
  /** The epoch this log object was opened under; 0 when it was opened without a claim. */
  readonly epoch: number;
  /**
   * True once this object has found its claim superseded (see FencedError); it stays so. It
   * looks at nothing: an object that has not tried to write since another process claimed the
   * log does not know yet (stillClaimed looks).
   */
  isFenced(): boolean;
  /**
   * Looks now whether this object's claim still holds: the same check every write makes (file
   * store: one synchronous stat of the claim file, a few µs; it sees claims made by other
   * processes). False once another owner has claimed the log, and from then on for good (the
   * object is then fenced, as isFenced says); false once the object is closed; for an object
   * opened without a claim, true while nobody has claimed the log. Meant for reads that must not
   * be served by an object that may have lost the log (e.g. while the broker's metadata session
   * is down).
   */
  stillClaimed(): boolean;
  logStartOffset(): number;
  logEndOffset(): number;
  /** Bytes held by the log, all segments together. */
  sizeInBytes(): number;
  /**
   * Appends one or more whole v2 record batches (already validated by the caller),
   * assigning consecutive offsets. Appends to one log are applied in call order.
   * Resolves once the bytes are written to the log (and fsynced if the flush policy says so),
   * so a process kill after resolution loses nothing, and only if the claim still held once the
   * write had completed: a write that completes after a newer owner claimed the log is rejected
   * with FencedError although its bytes may be in the file (the new owner either read them as
   * part of the log when it validated the tail, or never reads them).
   *
   * The store takes the buffer over: it writes each batch's baseOffset into it in place and may
   * keep referring to it after resolution (recent-tail cache), so the caller must not modify or
   * reuse it. Rejects with InvalidBatchError on bad framing, LogClosedError after close(),
   * LogOfflineError once a write has failed, FencedError once a newer owner has claimed the log
   * (checked on disk before each write, so also when the claim came from another process). An
   * object opened without a claim takes appends only while nobody has claimed the log.
   */
  append(batches: Buffer): Promise<AppendResult>;
  /** Reads whole batches from `offset`; throws OffsetOutOfRangeError outside [start, end]. */
  read(offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult>;
  /** Null when no batch has a timestamp >= target. */
  offsetForTimestamp(timestamp: number): Promise<TimestampLookup | null>;
  /**
   * The header of the batch holding `offset` (where offsets are missing, the first batch after
   * it), read through the offset index without the records: a few header reads at most, nothing
   * when the batch is still in the recent-tail cache. Null when `offset` holds no record: below
   * the log start, at or past the log end. LogClosedError after close().
   */
  batchHeaderAt(offset: number): Promise<StoredBatchHeader | null>;
  /**
   * Moves the log start offset forward (DeleteRecords, compaction of old offsets). FencedError as
   * append.
   */
  advanceLogStartOffset(offset: number): Promise<void>;
  /**
   * Applies retention by time and size now; returns how many segments were deleted. FencedError
   * as append.
   */
  enforceRetention(now?: number): Promise<number>;
  /** Forces buffered writes to disk. */
  flush(): Promise<void>;
  /**
   * Resolves when the log end offset moves past `offset`, the signal aborts or the log closes
   * unfenced (a read then fails with LogClosedError). Rejects with FencedError when the object
   * is fenced: at once when it is at the call (closed or not; an open object checks on the spot,
   * as stillClaimed does), or while waiting, as soon as this object finds it so (a write of it
   * meets the newer claim, or a newer claim through the same store supersedes it; a claim by
   * another process is otherwise not noticed by a parked wait, which then ends by its signal). A
   * fenced object gets no new data, so callers should stop waiting on it and send clients to the
   * new owner (Kafka: NOT_LEADER_OR_FOLLOWER).
   */
  waitForAppend(offset: number, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface MessageStore {
  /**
   * Opens the log, creating it if missing; the same object for the same partition while it is
   * open, except that a claim for a higher epoch than the open object's replaces it.
   *
   * With `claim`, the caller owns the partition under `claim.epoch`: the store records the claim
   * durably, fencing every log object opened under an older epoch (or without a claim) in any
   * process; waits the claim's grace; then reads the log's tail from disk, validating every batch
   * of the last segment as after a crash, so that the returned log continues after everything
   * the previous owners wrote. Rejects with FencedError when the log has already been claimed
   * with this epoch or a higher one (except by this store's open object for the same epoch,
   * which is returned), RangeError for an epoch that is not a positive safe integer. A fenced
   * log object stays fenced: close it, then claim again to append under a newer epoch.
   */
  openLog(tp: TopicPartition, config?: Partial<LogConfig>, claim?: LogClaim): Promise<PartitionLog>;
  /** Partitions whose logs exist in the store. */
  listLogs(): Promise<TopicPartition[]>;
  /** Removes the log and its data. */
  deleteLog(tp: TopicPartition): Promise<void>;
  /** Runs retention on every open log. */
  enforceRetention(now?: number): Promise<void>;
  close(): Promise<void>;
}
