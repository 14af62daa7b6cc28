/**
 * The file-backed log of one partition: a directory of segments, the last one active. Writes,
 * rolls, retention and log start changes run one at a time through a queue; appends that arrive
 * while a write is in progress go out together in the next one (one vectored write per segment
 * touched). Reads run concurrently on a snapshot of the segment list and never look past the
 * bytes whose write has completed. Durability follows the flush policy; fsyncs are shared by the
 * appends waiting on them (group commit). Every write (a group of appends, a roll, a log start
 * change, retention, the clean-shutdown marker) first checks the log's ownership fence, and a
 * group of appends checks it again once written, before it is acknowledged (see owner-fence):
 * once another owner has claimed the log, this object submits no more writes and acknowledges
 * none that completed after the claim (a write already submitted may still land; the new owner
 * keeps it out of its data). A log opened under a claim that was not a clean hand-over seals the
 * last segment at the length it validated and appends to a new segment file
 * (startAfterPreviousOwner).
 */
import { readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AppendWaiters } from './append-waiters.js';
import {
  EMPTY_RECORDS,
  frameBatchSet,
  storedBatchHeaderAt,
  type BatchSetSummary,
} from './batch-framing.js';
import { fsyncDir, isErrno, readFileIfExists, writeFileAtomically } from './file-io.js';
import { deletionReason, shouldRoll, type DeletionReason } from './log-policy.js';
import { recoverSegment } from './log-recovery.js';
import type { StorageLogger } from './logger.js';
import type { MemoryBudget } from './memory-budget.js';
import type { OwnerFence } from './owner-fence.js';
import {
  LogSegment,
  SEALED_SUFFIX,
  parseSegmentLogName,
  segmentFileName,
  type SegmentContext,
} from './segment.js';
import { SerialQueue } from './serial-queue.js';
import type { TailCache } from './tail-cache.js';
import {
  FencedError,
  LogClosedError,
  LogOfflineError,
  OffsetOutOfRangeError,
  type AppendResult,
  type LogConfig,
  type PartitionLog,
  type ReadResult,
  type StoredBatchHeader,
  type TimestampLookup,
  type TopicPartition,
} from './types.js';
import { lastAtOrBelow } from './offset-search.js';

/** Present only between a clean close and the next open: the files need no recovery scan. */
export const CLEAN_SHUTDOWN_FILE = '.clean-shutdown';
/** The log start offset when DeleteRecords moved it inside a segment. */
export const LOG_START_OFFSET_FILE = 'log-start-offset';

export interface FileLogOptions {
  readonly dir: string;
  readonly topicPartition: TopicPartition;
  readonly config: LogConfig;
  readonly logger: StorageLogger;
  readonly clock: () => number;
  readonly indexBudget: MemoryBudget;
  readonly tailCache: TailCache;
  /** The ownership claim this log writes under; released when the log closes. */
  readonly fence: OwnerFence;
  /**
   * Validate the last segment batch by batch even after a clean shutdown: the log was just
   * claimed, and the previous owner may have written after its last clean close.
   */
  readonly recoverTail?: boolean;
  /**
   * The claim was not a clean hand-over: seal the validated last segment and append to a new
   * one (see startAfterPreviousOwner).
   */
  readonly sealTail?: boolean;
  /** Called once the log has closed, so that its store forgets it. */
  readonly onClosed?: (log: FilePartitionLog) => void;
}

interface PendingAppend {
  batches: Buffer;
  summary: BatchSetSummary;
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
}

/** Linux's IOV_MAX: the most buffers one writev takes. */
const MAX_BUFFERS_PER_WRITE = 1024;
/** After the first, refused appends are logged at most this often per log (with their count). */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

export class FilePartitionLog implements PartitionLog {
  readonly topicPartition: TopicPartition;
  readonly config: LogConfig;
  /** Oldest first; replaced, never mutated, so that readers can hold a snapshot. */
  private segments: readonly LogSegment[];
  private startOffset: number;
  private endOffset: number;
  /** Bytes of all segments but the active one. */
  private closedBytes: number;
  private readonly queue = new SerialQueue();
  /** Appends waiting for the write in progress; the next queued task writes them together. */
  private pending: PendingAppend[] = [];
  private readonly waiters = new AppendWaiters();
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | null = null;
  private failure: Error | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private unflushedMessages = 0;
  private readonly fence: OwnerFence;
  private fencedNoted = false;
  /** Appends refused with FencedError, and how many of them after their bytes were written. */
  private refused = { appends: 0, afterWrite: 0, logged: 0, loggedAt: 0 };

  private constructor(
    private readonly options: FileLogOptions,
    private readonly ctx: SegmentContext,
    segments: LogSegment[],
    checkpointedStart: number,
  ) {
    this.topicPartition = options.topicPartition;
    this.config = options.config;
    this.fence = options.fence;
    this.segments = segments;
    this.endOffset = segments[segments.length - 1].nextOffset;
    this.startOffset = Math.min(
      Math.max(segments[0].baseOffset, checkpointedStart),
      this.endOffset,
    );
    this.closedBytes = segments.slice(0, -1).reduce((sum, s) => sum + s.size, 0);
  }

  static async open(options: FileLogOptions): Promise<FilePartitionLog> {
    const { dir, logger, topicPartition } = options;
    const logFields = { topic: topicPartition.topic, partition: topicPartition.partition };
    const ctx: SegmentContext = {
      dir,
      indexIntervalBytes: options.config.indexIntervalBytes,
      indexBudget: options.indexBudget,
      logger,
      logFields,
    };
    const names = await readdir(dir);
    const present = new Set(names);
    const clean = present.has(CLEAN_SHUTDOWN_FILE);
    if (clean) {
      // From here on a crash must not look like a clean shutdown.
      await unlink(path.join(dir, CLEAN_SHUTDOWN_FILE));
      await fsyncDir(dir);
    }
    const checkpointedStart = await readLogStartOffset(dir, logger, logFields);
    const bases = names
      .map(parseSegmentLogName)
      .filter((base): base is number => base !== null)
      .sort((a, b) => a - b);

    const { fence, sealTail = false } = options;
    const now = options.clock();
    const segments: LogSegment[] = [];
    try {
      for (const base of bases) {
        const sealed = present.has(segmentFileName(base, SEALED_SUFFIX));
        segments.push(await LogSegment.open(ctx, base, sealed));
      }
      for (let i = 0; i + 1 < segments.length; i++) {
        const { seal } = segments[i];
        const next = segments[i + 1].baseOffset;
        if (seal && seal.nextOffset !== next) {
          logger.warn(
            { ...logFields, file: segments[i].file, seal, nextSegmentBase: next },
            'sealed segment does not end where the next one begins',
          );
        }
        segments[i].nextOffset = next;
      }
      const last = segments[segments.length - 1];
      if (!last) {
        segments.push(await startSegment(ctx, fence, checkpointedStart, now));
      } else if (last.seal) {
        // A claim sealed it and stopped before it started the next segment (a crash); a fenced
        // object only reads, and leaves the files to the owner.
        if (!fence.fenced) segments.push(await startSegment(ctx, fence, last.nextOffset, now));
      } else {
        if (!clean || options.recoverTail || !(await last.resume())) {
          if (clean && !options.recoverTail) {
            logger.warn(
              { ...logFields, file: last.file },
              'log files disagree with the clean shutdown',
            );
          }
          await recoverSegment(last, logger, logFields, !sealTail);
        }
        if (sealTail) await startAfterPreviousOwner(ctx, fence, segments, now);
      }
    } catch (err) {
      await Promise.all(segments.map((segment) => segment.retire()));
      throw err;
    }
    const log = new FilePartitionLog(options, ctx, segments, checkpointedStart);
    logger.info(
      {
        ...logFields,
        segments: segments.length,
        logStartOffset: log.startOffset,
        logEndOffset: log.endOffset,
        cleanShutdown: clean,
        epoch: options.fence.epoch,
      },
      'opened log',
    );
    return log;
  }

  get epoch(): number {
    return this.fence.epoch;
  }

  isFenced(): boolean {
    return this.fence.fenced !== null;
  }

  stillClaimed(): boolean {
    if (this.state === 'closed') return false;
    try {
      this.checkFence();
      return true;
    } catch {
      return false; // fenced (for good), or the claim file could not be looked at just now
    }
  }

  /**
   * Fences this object for good because a newer claim is being made in this process (the store
   * then closes it, which lets the writes already queued finish or fail first).
   */
  supersede(claimedEpoch: number): void {
    this.noteFenced(this.fence.supersede(claimedEpoch));
  }

  logStartOffset(): number {
    return this.startOffset;
  }

  logEndOffset(): number {
    return this.endOffset;
  }

  sizeInBytes(): number {
    return this.closedBytes + this.active.size;
  }

  append(batches: Buffer): Promise<AppendResult> {
    let summary: BatchSetSummary;
    try {
      this.checkWritable();
      summary = frameBatchSet(batches);
    } catch (err) {
      if (err instanceof FencedError) this.noteRefused(err, 1);
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ batches, summary, resolve, reject });
      if (this.pending.length === 1) {
        this.queue
          .run(() => this.writePending())
          .catch((err: unknown) => {
            this.options.logger.error({ ...this.logFields, err }, 'append task failed');
          });
      }
    });
  }

  async read(offset: number, maxBytes: number, minOneBatch: boolean): Promise<ReadResult> {
    this.checkOpen();
    if (!Number.isInteger(offset) || offset < this.startOffset || offset > this.endOffset) {
      throw new OffsetOutOfRangeError(offset, this.startOffset, this.endOffset);
    }
    let records: Buffer = EMPTY_RECORDS;
    if (offset < this.endOffset && (maxBytes > 0 || minOneBatch)) {
      records =
        this.options.tailCache.read(offset, maxBytes, minOneBatch) ??
        (await this.readSegment(offset, maxBytes, minOneBatch));
    }
    return { records, highWatermark: this.endOffset, logStartOffset: this.startOffset };
  }

  async offsetForTimestamp(timestamp: number): Promise<TimestampLookup | null> {
    this.checkOpen();
    const start = this.startOffset;
    for (const segment of this.segments) {
      if (segment.nextOffset <= start || !segment.acquire()) continue;
      try {
        if ((await segment.maxBatchTimestamp()) < timestamp) continue;
        const found = await segment.findTimestamp(timestamp, start);
        if (found) {
          return { offset: Math.max(found.baseOffset, start), timestamp: found.maxTimestamp };
        }
      } finally {
        segment.release();
      }
    }
    return null;
  }

  async batchHeaderAt(offset: number): Promise<StoredBatchHeader | null> {
    this.checkOpen();
    if (!Number.isInteger(offset) || offset < this.startOffset || offset >= this.endOffset) {
      return null;
    }
    const cached = this.options.tailCache.read(offset, 0, true); // the one batch, not copied
    if (cached !== null && cached.length > 0) return storedBatchHeaderAt(cached, 0);
    const segments = this.segments;
    // Where offsets are missing at the end of a segment, the batch is in a later one.
    for (let i = Math.max(0, lastAtOrBelow(segments, offset)); i < segments.length; i++) {
      const segment = segments[i];
      // Retired since the range check (retention, or the log closed): the offset holds no record.
      if (!segment.acquire()) {
        this.checkOpen();
        return null;
      }
      try {
        const header = await segment.batchHeaderAt(offset);
        if (header) return header;
      } finally {
        segment.release();
      }
    }
    return null;
  }

  async advanceLogStartOffset(offset: number): Promise<void> {
    this.checkNotFenced();
    this.checkOpen();
    if (!Number.isInteger(offset) || offset < 0 || offset > this.endOffset) {
      throw new OffsetOutOfRangeError(offset, this.startOffset, this.endOffset);
    }
    await this.queue.run(async () => {
      if (offset <= this.startOffset) return;
      this.checkFence();
      await writeFileAtomically(path.join(this.options.dir, LOG_START_OFFSET_FILE), `${offset}\n`);
      this.startOffset = offset;
      await this.deleteOldest(this.closedSegmentsBelow(offset), 'log-start-offset');
    });
  }

  enforceRetention(now = this.options.clock()): Promise<number> {
    try {
      this.checkNotFenced();
      this.checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.queue.run(async () => {
      const segments = this.segments;
      let remaining = this.sizeInBytes();
      let count = 0;
      let reason: DeletionReason | null = null;
      for (; count < segments.length - 1; count++) {
        const segment = segments[count];
        const facts = {
          size: segment.size,
          endOffset: segment.nextOffset,
          largestTimestamp: this.config.retentionMs >= 0 ? await segment.largestTimestamp() : -1,
        };
        const why = deletionReason(facts, remaining, this.startOffset, now, this.config);
        if (why === null) break;
        reason ??= why;
        remaining -= segment.size;
      }
      if (count > 0) this.checkFence();
      await this.deleteOldest(count, reason);
      return count;
    });
  }

  async flush(): Promise<void> {
    if (this.state === 'closed') return;
    this.unflushedMessages = 0;
    await this.syncSegment(this.active);
  }

  /**
   * Resolves when the end offset moves past `offset`, the signal aborts or the log closes.
   * Rejects with FencedError when the log is found fenced: at the call (one stat of the claim
   * file, as stillClaimed) or, while parked, when a write of this object finds it so. A fenced
   * log gets no new data, so resolving would only send a long poll round again at once.
   */
  waitForAppend(offset: number, signal: AbortSignal): Promise<void> {
    const fenced = this.fence.fenced;
    if (fenced) return Promise.reject(fenced); // closed or not
    if (this.state !== 'open') return Promise.resolve();
    try {
      this.checkFence();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.waiters.wait(offset, this.endOffset, signal);
  }

  close(): Promise<void> {
    return this.shutdown(true);
  }

  /**
   * Stops the log: queued appends finish, later ones are rejected. With `clean`, the indexes
   * are written, everything is fsynced, the clean-shutdown marker lets the next open skip
   * recovery and the claim is recorded as released (the next owner skips the fence grace);
   * without (the log is about to be deleted), the files are just let go.
   */
  shutdown(clean: boolean): Promise<void> {
    if (!this.closing) {
      this.state = 'closing';
      this.closing = this.closeNow(clean);
    }
    return this.closing;
  }

  private get active(): LogSegment {
    return this.segments[this.segments.length - 1];
  }

  private get logFields(): Readonly<Record<string, unknown>> {
    return this.ctx.logFields;
  }

  private checkOpen(): void {
    if (this.state !== 'open') throw new LogClosedError(this.topicPartition);
  }

  private checkNotFenced(): void {
    const fenced = this.fence.fenced;
    if (fenced) throw fenced;
  }

  private checkWritable(): void {
    this.checkNotFenced();
    this.checkOpen();
    if (this.failure) throw new LogOfflineError(this.topicPartition, { cause: this.failure });
  }

  /**
   * Writes every append that queued up while the previous write ran, in call order: one write
   * per segment they land in, so that many small concurrent appends cost few system calls.
   */
  private async writePending(): Promise<void> {
    const group = this.pending;
    this.pending = [];
    let next = 0;
    try {
      while (next < group.length) {
        this.checkNotFenced();
        if (this.failure) throw new LogOfflineError(this.topicPartition, { cause: this.failure });
        next = await this.writeRun(group, next);
      }
    } catch (err) {
      // The log is offline or fenced now (writeRun found it so): nothing from here on is written.
      const refused = group.slice(next);
      if (err instanceof FencedError) this.noteRefused(err, refused.length);
      for (const append of refused) append.reject(err);
    }
  }

  /** Writes the appends from `group[first]` on that fit in one segment; returns where it stopped. */
  private async writeRun(group: PendingAppend[], first: number): Promise<number> {
    const now = this.options.clock();
    let segment: LogSegment;
    let ends: number[];
    let run: PendingAppend[] = [];
    let written = false;
    try {
      segment = await this.segmentTaking(group[first], now);
      run = group.slice(first, this.runEnd(group, first, segment, now));
      // The fence is checked twice. Immediately before the write (no await in between), so that
      // nothing is submitted once a newer claim is visible: the new owner relies on that when it
      // takes over a segment file created after its claim (startSegment). And once the write has
      // completed, before anything is acknowledged: a write that passed the first check can wait
      // arbitrarily long (libuv's thread pool behind slow fsyncs, a hung disk, a frozen process)
      // and land after a newer owner claimed the log and read its tail, past the length it sealed
      // the segment at, where nobody reads it; acknowledging it would lose it. A write that passes
      // the second check landed before the claim was installed, so every newer owner reads it.
      this.checkFence();
      ends = await segment.append(
        run.map((append) => append.batches),
        this.endOffset,
        () => {
          written = true;
          this.checkFence();
        },
      );
    } catch (err) {
      if (written && err instanceof FencedError) this.refused.afterWrite += run.length;
      throw this.fail(err);
    }
    const results = run.map((append, i): AppendResult => {
      const baseOffset = i === 0 ? this.endOffset : ends[i - 1];
      this.options.tailCache.add(append.batches, baseOffset, ends[i]);
      return { baseOffset, logEndOffset: ends[i], logStartOffset: this.startOffset };
    });
    this.endOffset = ends[ends.length - 1];
    this.waiters.notify(this.endOffset);
    const messages = run.reduce((sum, append) => sum + append.summary.recordCount, 0);
    const durable = this.applyFlushPolicy(segment, messages);
    run.forEach((append, i) => {
      if (durable) durable.then(() => append.resolve(results[i]), append.reject);
      else append.resolve(results[i]);
    });
    return first + run.length;
  }

  /** The active segment, after a roll if `append` does not belong in the current one. */
  private async segmentTaking(append: PendingAppend, now: number): Promise<LogSegment> {
    const { batches, summary } = append;
    const active = this.active;
    return shouldRoll(active, batches.length, this.endOffset, summary.offsetCount, now, this.config)
      ? this.roll(now)
      : active;
  }

  /** End of the run of appends from `first` that `segment` takes without rolling (at least one). */
  private runEnd(group: PendingAppend[], first: number, segment: LogSegment, now: number): number {
    const grown = {
      baseOffset: segment.baseOffset,
      size: segment.size,
      createdAt: segment.createdAt,
    };
    let nextOffset = this.endOffset;
    let end = first;
    do {
      grown.size += group[end].batches.length;
      nextOffset += group[end].summary.offsetCount;
      end++;
    } while (
      end < group.length &&
      end - first < MAX_BUFFERS_PER_WRITE &&
      !shouldRoll(
        grown,
        group[end].batches.length,
        nextOffset,
        group[end].summary.offsetCount,
        now,
        this.config,
      )
    );
    return end;
  }

  /** Seals the active segment (fsynced, so only the last segment can ever have a torn tail). */
  private async roll(now: number): Promise<LogSegment> {
    this.checkFence();
    const sealed = this.active;
    await sealed.persist(true, now);
    const next = await LogSegment.create(this.ctx, this.endOffset, now);
    this.segments = [...this.segments, next];
    this.closedBytes += sealed.size;
    this.unflushedMessages = 0;
    this.options.logger.debug(
      { ...this.logFields, sealed: sealed.file, bytes: sealed.size, next: next.file },
      'rolled log segment',
    );
    return next;
  }

  /** The fsync this append must wait for, if the flush policy wants one now. */
  private applyFlushPolicy(segment: LogSegment, messages: number): Promise<void> | null {
    const { flushIntervalMessages, flushIntervalMs } = this.config;
    this.unflushedMessages += messages;
    if (
      flushIntervalMs === 0 ||
      (flushIntervalMessages > 0 && this.unflushedMessages >= flushIntervalMessages)
    ) {
      this.unflushedMessages = 0;
      return this.syncSegment(segment);
    }
    if (flushIntervalMs > 0 && !this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.flush().catch(() => undefined); // fail() has logged it and taken the log offline
      }, flushIntervalMs);
      this.flushTimer.unref();
    }
    return null;
  }

  /** The fence's check (see owner-fence), noting (once) that the log is fenced when it is. */
  private checkFence(): void {
    try {
      this.fence.check();
    } catch (err) {
      if (err instanceof FencedError) this.noteFenced(err);
      throw err;
    }
  }

  /** Logs (once) that this object found its claim superseded, however it found out. */
  private noteFenced(err: FencedError): void {
    if (this.fencedNoted) return;
    this.fencedNoted = true;
    this.waiters.failAll(err); // parked long polls: this log gets no new data
    this.options.logger.warn(
      { ...this.logFields, epoch: err.epoch, claimedEpoch: err.claimedEpoch },
      'log fenced: another owner claimed it; it takes no more writes',
    );
  }

  /**
   * Counts appends refused with FencedError and logs them apart from noteFenced's line (which a
   * hand-over without any refused write logs too): the first at once, then at most every
   * REFUSAL_LOG_INTERVAL_MS, and what is left unlogged when the log closes.
   */
  private noteRefused(err: FencedError | null, count: number): void {
    const refused = this.refused;
    refused.appends += count;
    const now = Date.now();
    const due =
      err === null
        ? refused.appends > refused.logged
        : refused.logged === 0 || now - refused.loggedAt >= REFUSAL_LOG_INTERVAL_MS;
    if (!due) return;
    refused.logged = refused.appends;
    refused.loggedAt = now;
    const fenced = err ?? this.fence.fenced;
    this.options.logger.warn(
      {
        ...this.logFields,
        epoch: this.fence.epoch,
        claimedEpoch: fenced?.claimedEpoch ?? null,
        refusedAppends: refused.appends,
        // Written but not acknowledged: the new owner read them when it validated the tail, or
        // never reads them (past the length it sealed the segment at).
        refusedAfterWrite: refused.afterWrite,
      },
      'append refused: another owner claimed the log',
    );
  }

  private async syncSegment(segment: LogSegment): Promise<void> {
    try {
      await segment.sync();
    } catch (err) {
      throw this.fail(err);
    }
  }

  /**
   * Takes the log offline after an I/O failure: the file no longer matches what we know. A fenced
   * write is no failure: the log stays as it was, and the fence refuses everything after. Nor is
   * one that failed while another owner holds the log (its roll found the new owner's segment
   * file, say): the fence is looked at again first.
   */
  private fail(err: unknown): Error {
    if (!(err instanceof FencedError) && !this.failure) {
      try {
        this.fence.check();
      } catch (fenced) {
        if (fenced instanceof FencedError) {
          this.options.logger.debug(
            { ...this.logFields, err },
            'a write failed after another owner claimed the log',
          );
          err = fenced;
        }
      }
    }
    if (err instanceof FencedError) {
      this.noteFenced(err);
      return err;
    }
    if (!this.failure) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.options.logger.error({ ...this.logFields, err }, 'log write failed; the log is offline');
    }
    return err instanceof Error ? err : this.failure;
  }

  private async readSegment(
    offset: number,
    maxBytes: number,
    minOneBatch: boolean,
  ): Promise<Buffer> {
    const segment = segmentFor(this.segments, offset);
    if (!segment.acquire()) {
      // Retired since the range check: deleted by retention, or the log closed.
      this.checkOpen();
      throw new OffsetOutOfRangeError(offset, this.startOffset, this.endOffset);
    }
    try {
      return await segment.read(offset, maxBytes, minOneBatch);
    } finally {
      segment.release();
    }
  }

  /** How many closed segments lie wholly below `offset`. */
  private closedSegmentsBelow(offset: number): number {
    let count = 0;
    while (count < this.segments.length - 1 && this.segments[count].nextOffset <= offset) count++;
    return count;
  }

  private async deleteOldest(count: number, reason: DeletionReason | null): Promise<void> {
    if (count === 0) return;
    const doomed = this.segments.slice(0, count);
    this.segments = this.segments.slice(count);
    this.closedBytes -= doomed.reduce((sum, s) => sum + s.size, 0);
    this.startOffset = Math.max(this.startOffset, this.segments[0].baseOffset);
    this.options.logger.info(
      {
        ...this.logFields,
        reason,
        segments: doomed.map((s) => s.baseOffset),
        logStartOffset: this.startOffset,
      },
      'deleted log segments',
    );
    for (const segment of doomed) await segment.delete();
  }

  /** Whether the claim still holds, so that close may write the indexes and the marker. */
  private stillOwner(): boolean {
    try {
      this.checkFence();
      return true;
    } catch (err) {
      if (err instanceof FencedError) return false;
      throw err;
    }
  }

  private async closeNow(clean: boolean): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    await this.queue.drain();
    this.waiters.wakeAll();
    this.noteRefused(null, 0); // the refusals not logged yet, if any
    this.options.tailCache.clear();
    try {
      if (clean && !this.failure && this.stillOwner()) {
        await this.active.persist(false, this.options.clock());
        await writeFileAtomically(path.join(this.options.dir, CLEAN_SHUTDOWN_FILE), '');
        // Last: every write of this object has landed, and it takes no more (it is closing), so
        // the next owner need not wait out the fence grace.
        await this.fence.markReleased();
      }
    } finally {
      this.state = 'closed';
      await Promise.all([
        ...this.segments.map((segment) => segment.retire()),
        this.fence.release(),
      ]);
      this.options.onClosed?.(this);
      this.options.logger.debug({ ...this.logFields, clean }, 'closed log');
    }
  }
}

/**
 * Starts the active segment at `baseOffset` in a new file. One of that name may have been created
 * since the log listed its directory (which a claimer does after installing its claim): by a log
 * object whose claim is older, which never writes into it (it checks its claim after creating a
 * segment, before writing into it), or by a newer claimer, whose claim the check below finds.
 * So an empty file found there is taken over.
 */
async function startSegment(
  ctx: SegmentContext,
  fence: OwnerFence,
  baseOffset: number,
  now: number,
): Promise<LogSegment> {
  try {
    return await LogSegment.create(ctx, baseOffset, now);
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw err;
    fence.check();
    return LogSegment.adoptEmpty(ctx, baseOffset, now);
  }
}

/**
 * After a claim that was not a clean hand-over, the previous owner may still have a write in
 * flight into the last segment's file, which may land at any time (see owner-fence). So the new
 * owner writes nothing into that file: it seals the (recovered) last segment at the length it
 * validated, with a seal record that every later open honours, and starts a new segment at the
 * log end offset. An empty last segment has nothing to seal: its file is moved aside instead,
 * and the new segment, of the same base offset, gets a new file. Replaces `segments`' last entry
 * or adds one.
 */
async function startAfterPreviousOwner(
  ctx: SegmentContext,
  fence: OwnerFence,
  segments: LogSegment[],
  now: number,
): Promise<void> {
  const { logger, logFields } = ctx;
  const last = segments[segments.length - 1];
  if (last.size === 0) {
    await last.moveAside();
    await last.retire();
    segments[segments.length - 1] = await startSegment(ctx, fence, last.baseOffset, now);
    logger.info(
      { ...logFields, file: last.file, epoch: fence.epoch },
      'started the empty last segment in a new file after an unclean claim',
    );
    return;
  }
  let sealed = last;
  const record = await last.sealForClaim(fence.epoch, now);
  if (last.seal !== record) {
    // Another claimer's record, made since this log opened the segment: older than this claim
    // (else the check throws), its length is a prefix of what was validated here. It holds.
    fence.check();
    await last.retire();
    sealed = await LogSegment.open(ctx, last.baseOffset, true);
    segments[segments.length - 1] = sealed;
  }
  const next = await startSegment(ctx, fence, sealed.nextOffset, now);
  segments.push(next);
  logger.info(
    { ...logFields, sealed: last.file, sealedBytes: record.bytes, next: next.file },
    'sealed the last segment after an unclean claim; appending to a new one',
  );
}

/** The segment holding `offset`: the last whose base offset is not above it. */
function segmentFor<S extends { baseOffset: number }>(segments: readonly S[], offset: number): S {
  return segments[Math.max(0, lastAtOrBelow(segments, offset))];
}

async function readLogStartOffset(
  dir: string,
  logger: StorageLogger,
  logFields: Readonly<Record<string, unknown>>,
): Promise<number> {
  const contents = await readFileIfExists(path.join(dir, LOG_START_OFFSET_FILE));
  if (contents === null) return 0;
  const text = contents.toString('utf8').trim();
  const offset = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(offset)) {
    logger.warn(
      { ...logFields, contents: text.slice(0, 40) },
      'ignoring unreadable log start offset',
    );
    return 0;
  }
  return offset;
}
