/**
 * The in-memory message store, for tests and throwaway brokers. It keeps the file store's
 * semantics, segments included (rolled by the same policy), so that retention and log start
 * offsets behave the same; appends copy the caller's bytes (they may be a view of a socket chunk).
 * Data lives as long as the store: closing a log and opening it again finds it as it was.
 * Ownership claims are kept with the data, so fencing works between the users of one store (it
 * has no other process to fence).
 */
import { AppendWaiters } from './append-waiters.js';
import { batchSizeAt, writeBaseOffset } from './batch-header.js';
import {
  EMPTY_RECORDS,
  frameBatchSet,
  lastOffsetDelta,
  maxTimestampAt,
  storedBatchHeaderAt,
} from './batch-framing.js';
import { resolveLogConfig } from './log-config.js';
import { deletionReason, shouldRoll, type DeletionReason } from './log-policy.js';
import { partitionKey } from './topic-dirs.js';
import {
  FencedError,
  LogClosedError,
  OffsetOutOfRangeError,
  type AppendResult,
  type LogClaim,
  type LogConfig,
  type MessageStore,
  type PartitionLog,
  type ReadResult,
  type StoredBatchHeader,
  type TimestampLookup,
  type TopicPartition,
} from './types.js';
import { lastAtOrBelow } from './offset-search.js';

export interface MemoryMessageStoreOptions {
  defaults?: Partial<LogConfig>;
  /** Wall clock, ms (segment age, retention); tests pass a fake one. */
  clock?: () => number;
}

interface StoredBatch {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  bytes: Buffer;
}

interface MemorySegment {
  baseOffset: number;
  batches: StoredBatch[];
  size: number;
  createdAt: number;
  modifiedAt: number;
  maxTimestamp: number;
  nextOffset: number;
}

/** What outlives a closed log object in the store. */
interface LogData {
  segments: MemorySegment[];
  startOffset: number;
  /** The latest claimed epoch; 0 while nobody has claimed the log. */
  ownerEpoch: number;
}

export class MemoryPartitionLog implements PartitionLog {
  private closed = false;
  private fenced: FencedError | null = null;
  private readonly waiters = new AppendWaiters();

  constructor(
    readonly topicPartition: TopicPartition,
    readonly config: LogConfig,
    private readonly data: LogData,
    readonly epoch: number,
    private readonly clock: () => number,
    private readonly onClosed: (log: MemoryPartitionLog) => void,
  ) {}

  isFenced(): boolean {
    return this.checkFence() !== null;
  }

  stillClaimed(): boolean {
    return !this.closed && this.checkFence() === null;
  }

  logStartOffset(): number {
    return this.data.startOffset;
  }

  logEndOffset(): number {
    return this.active.nextOffset;
  }

  sizeInBytes(): number {
    return this.data.segments.reduce((sum, s) => sum + s.size, 0);
  }

  append(batches: Buffer): Promise<AppendResult> {
    try {
      this.checkWritable();
      const summary = frameBatchSet(batches);
      const now = this.clock();
      const baseOffset = this.logEndOffset();
      let segment = this.active;
      if (shouldRoll(segment, batches.length, baseOffset, summary.offsetCount, now, this.config)) {
        segment = newSegment(baseOffset, now);
        this.data.segments.push(segment);
      }
      const copy = Buffer.allocUnsafeSlow(batches.length);
      batches.copy(copy);
      let offset = baseOffset;
      for (let pos = 0; pos < copy.length; pos += batchSizeAt(copy, pos)) {
        writeBaseOffset(copy, pos, offset);
        const batch: StoredBatch = {
          baseOffset: offset,
          lastOffset: offset + lastOffsetDelta(copy, pos),
          maxTimestamp: maxTimestampAt(copy, pos),
          bytes: copy.subarray(pos, pos + batchSizeAt(copy, pos)),
        };
        segment.batches.push(batch);
        segment.maxTimestamp = Math.max(segment.maxTimestamp, batch.maxTimestamp);
        offset = batch.lastOffset + 1;
      }
      segment.size += copy.length;
      segment.modifiedAt = now;
      segment.nextOffset = offset;
      this.waiters.notify(offset);
      return Promise.resolve({
        baseOffset,
        logEndOffset: offset,
        logStartOffset: this.data.startOffset,
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async read(offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult> {
    this.checkOpen();
    const start = this.data.startOffset;
    const end = this.logEndOffset();
    if (!Number.isInteger(offset) || offset < start || offset > end) {
      throw new OffsetOutOfRangeError(offset, start, end);
    }
    const parts: Buffer[] = [];
    let total = 0;
    if (offset < end) {
      // As the file store: whole batches of one segment per read.
      const { batches } = segmentFor(this.data.segments, offset);
      for (let i = batchIndexFor(batches, offset); i < batches.length; i++) {
        const size = batches[i].bytes.length;
        if (total + size > maxBytes && !(minOneBatch && total === 0)) break;
        parts.push(batches[i].bytes);
        total += size;
      }
    }
    const records =
      parts.length === 0
        ? EMPTY_RECORDS
        : parts.length === 1
          ? parts[0]
          : Buffer.concat(parts, total);
    return { records, highWatermark: end, logStartOffset: start };
  }

  async offsetForTimestamp(timestamp: number): Promise<TimestampLookup | null> {
    this.checkOpen();
    const start = this.data.startOffset;
    for (const segment of this.data.segments) {
      if (segment.nextOffset <= start || segment.maxTimestamp < timestamp) continue;
      for (const batch of segment.batches) {
        if (batch.lastOffset >= start && batch.maxTimestamp >= timestamp) {
          return { offset: Math.max(batch.baseOffset, start), timestamp: batch.maxTimestamp };
        }
      }
    }
    return null;
  }

  async batchHeaderAt(offset: number): Promise<StoredBatchHeader | null> {
    this.checkOpen();
    if (
      !Number.isInteger(offset) ||
      offset < this.data.startOffset ||
      offset >= this.logEndOffset()
    )
      return null;
    const segments = this.data.segments;
    for (let i = Math.max(0, lastAtOrBelow(segments, offset)); i < segments.length; i++) {
      const { batches } = segments[i];
      const at = batchIndexFor(batches, offset);
      if (at < batches.length) return storedBatchHeaderAt(batches[at].bytes, 0);
    }
    return null;
  }

  async advanceLogStartOffset(offset: number): Promise<void> {
    this.checkWritable();
    const end = this.logEndOffset();
    if (!Number.isInteger(offset) || offset < 0 || offset > end) {
      throw new OffsetOutOfRangeError(offset, this.data.startOffset, end);
    }
    if (offset <= this.data.startOffset) return;
    this.data.startOffset = offset;
    let count = 0;
    while (
      count < this.data.segments.length - 1 &&
      this.data.segments[count].nextOffset <= offset
    ) {
      count++;
    }
    this.deleteOldest(count);
  }

  async enforceRetention(now = this.clock()): Promise<number> {
    this.checkWritable();
    const segments = this.data.segments;
    let remaining = this.sizeInBytes();
    let count = 0;
    for (; count < segments.length - 1; count++) {
      const segment = segments[count];
      const largestTimestamp =
        segment.maxTimestamp >= 0 ? segment.maxTimestamp : segment.modifiedAt;
      const facts = { size: segment.size, endOffset: segment.nextOffset, largestTimestamp };
      const reason: DeletionReason | null = deletionReason(
        facts,
        remaining,
        this.data.startOffset,
        now,
        this.config,
      );
      if (reason === null) break;
      remaining -= segment.size;
    }
    this.deleteOldest(count);
    return count;
  }

  async flush(): Promise<void> {}

  waitForAppend(offset: number, signal: AbortSignal): Promise<void> {
    const fenced = this.checkFence();
    if (fenced) return Promise.reject(fenced); // closed or not
    if (this.closed) return Promise.resolve();
    return this.waiters.wait(offset, this.logEndOffset(), signal);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.waiters.wakeAll();
    this.onClosed(this);
  }

  private get active(): MemorySegment {
    return this.data.segments[this.data.segments.length - 1];
  }

  private checkOpen(): void {
    if (this.closed) throw new LogClosedError(this.topicPartition);
  }

  private checkWritable(): void {
    const fenced = this.checkFence();
    if (fenced) throw fenced;
    this.checkOpen();
  }

  /** The error writes get once a newer claim exists (for good), else null. */
  private checkFence(): FencedError | null {
    if (!this.fenced && this.data.ownerEpoch !== this.epoch) {
      this.fenced = new FencedError(this.topicPartition, this.epoch, this.data.ownerEpoch);
      this.waiters.failAll(this.fenced);
    }
    return this.fenced;
  }

  private deleteOldest(count: number): void {
    if (count === 0) return;
    this.data.segments.splice(0, count);
    this.data.startOffset = Math.max(this.data.startOffset, this.data.segments[0].baseOffset);
  }
}

export class MemoryMessageStore implements MessageStore {
  private readonly defaults: LogConfig;
  private readonly clock: () => number;
  private readonly data = new Map<string, { tp: TopicPartition; log: LogData }>();
  private readonly open = new Map<string, MemoryPartitionLog>();
  private closed = false;

  constructor(options: MemoryMessageStoreOptions = {}) {
    this.defaults = resolveLogConfig(options.defaults);
    this.clock = options.clock ?? Date.now;
  }

  async openLog(
    tp: TopicPartition,
    config?: Partial<LogConfig>,
    claim?: LogClaim,
  ): Promise<PartitionLog> {
    if (this.closed) throw new LogClosedError();
    if (claim && (!Number.isSafeInteger(claim.epoch) || claim.epoch < 1)) {
      throw new RangeError(`owner epoch must be a positive safe integer, got ${claim.epoch}`);
    }
    const key = partitionKey(tp);
    const existing = this.open.get(key);
    if (existing && (!claim || claim.epoch === existing.epoch)) return existing;
    const resolved = resolveLogConfig(this.defaults, config);
    let entry = this.data.get(key);
    if (!entry) {
      entry = { tp: { topic: tp.topic, partition: tp.partition }, log: newLogData(this.clock()) };
      this.data.set(key, entry);
    }
    if (claim) {
      if (claim.epoch <= entry.log.ownerEpoch) {
        throw new FencedError(tp, claim.epoch, entry.log.ownerEpoch);
      }
      entry.log.ownerEpoch = claim.epoch; // fences `existing`, which is closed below
      existing?.isFenced(); // finds it so: its parked waits end with FencedError, as on file
      await existing?.close();
    }
    const epoch = claim?.epoch ?? 0;
    const log = new MemoryPartitionLog(
      entry.tp,
      resolved,
      entry.log,
      epoch,
      this.clock,
      (closed) => {
        if (this.open.get(key) === closed) this.open.delete(key);
      },
    );
    this.open.set(key, log);
    return log;
  }

  async listLogs(): Promise<TopicPartition[]> {
    return [...this.data.values()].map(({ tp }) => ({ ...tp }));
  }

  async deleteLog(tp: TopicPartition): Promise<void> {
    if (this.closed) throw new LogClosedError();
    const key = partitionKey(tp);
    await this.open.get(key)?.close();
    this.data.delete(key);
  }

  async enforceRetention(now?: number): Promise<void> {
    for (const log of this.open.values()) {
      if (!log.isFenced()) await log.enforceRetention(now);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const log of [...this.open.values()]) await log.close();
  }
}

function newSegment(baseOffset: number, now: number): MemorySegment {
  return {
    baseOffset,
    batches: [],
    size: 0,
    createdAt: now,
    modifiedAt: now,
    maxTimestamp: -1,
    nextOffset: baseOffset,
  };
}

function newLogData(now: number): LogData {
  return { segments: [newSegment(0, now)], startOffset: 0, ownerEpoch: 0 };
}

/** The segment holding `offset`: the last whose base offset is not above it. */
function segmentFor<S extends { baseOffset: number }>(segments: readonly S[], offset: number): S {
  return segments[Math.max(0, lastAtOrBelow(segments, offset))];
}

/** Index of the first batch whose last offset is at least `offset`. */
function batchIndexFor(batches: StoredBatch[], offset: number): number {
  let lo = 0;
  let hi = batches.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (batches[mid].lastOffset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
