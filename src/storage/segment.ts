/**
 * One segment of a partition log: `<base offset>.log` holding whole batches back to back, with
 * its sparse `.index` and `.timeindex`. The active (last) segment takes appends and keeps its
 * indexes in memory, writing them out when it is sealed or the log closes cleanly (after a crash
 * they are rebuilt from the log). Closed segments load their indexes on demand, within a
 * store-wide memory budget that evicts the least recently used.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { batchSizeAt, writeBaseOffset } from './batch-header.js';
import {
  EMPTY_RECORDS,
  lastOffsetDelta,
  maxTimestampAt,
  wholeBatchesLength,
} from './batch-framing.js';
import {
  fsyncDir,
  isErrno,
  readFileIfExists,
  readFully,
  writeFully,
  writeTail,
} from './file-io.js';
import { GroupSync } from './group-sync.js';
import { HeaderScanner } from './header-scanner.js';
import type { StorageLogger } from './logger.js';
import type { Evictable, MemoryBudget } from './memory-budget.js';
import { OffsetIndex } from './offset-index.js';
import { TimeIndex } from './time-index.js';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';

const SEGMENT_LOG_NAME = /^(\d{20})\.log$/;

export function segmentFileName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, '0') + suffix;
}

/** The base offset a segment log file is named for; null for any other file. */
export function parseSegmentLogName(name: string): number | null {
  const match = SEGMENT_LOG_NAME.exec(name);
  if (!match) return null;
  const offset = Number(match[1]);
  return Number.isSafeInteger(offset) ? offset : null;
}

export interface SegmentContext {
  readonly dir: string;
  readonly indexIntervalBytes: number;
  /** Memory for the indexes of closed segments, shared by the whole store. */
  readonly indexBudget: MemoryBudget;
  readonly logger: StorageLogger;
  /** Names the log in log lines. */
  readonly logFields: Readonly<Record<string, unknown>>;
}

export interface BatchLocation {
  position: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

/** A segment's corrupt bytes were met where only sound batches can be (committed data). */
export class CorruptSegmentError extends Error {
  constructor(file: string, position: number, problem: string) {
    super(`${file} is corrupt at byte ${position}: ${problem}`);
    this.name = 'CorruptSegmentError';
  }
}

interface Indexes {
  offsets: OffsetIndex;
  times: TimeIndex;
}

/** Append-side state, saved before a write so that a failed write leaves no trace. */
interface TrackState {
  offsetEntries: number;
  timeEntries: number;
  bytesSinceIndexEntry: number;
  maxTimestamp: number | null;
  lastBatchOffset: number;
  nextOffset: number;
}

export class LogSegment implements Evictable {
  private indexes: Indexes | null;
  private loading: Promise<Indexes> | null = null;
  private persistedEntries = { offsets: 0, times: 0 };
  /** Largest batch max timestamp; -1 when no batch has one; null until the indexes load. */
  private maxTimestamp: number | null;
  private lastBatchOffset: number;
  private bytesSinceIndexEntry = 0;
  private sealed: boolean;
  private refs = 0;
  private retired = false;
  private handleClosing = false;
  private readonly handleClosed: Promise<void>;
  private markHandleClosed!: () => void;
  private readonly fsync: GroupSync;

  private constructor(
    private readonly ctx: SegmentContext,
    readonly baseOffset: number,
    private readonly fh: FileHandle,
    /** Bytes of whole batches written; reads never look past it. */
    public size: number,
    /** Offset after the last batch; for segments opened from disk, set by whoever knows it. */
    public nextOffset: number,
    /** Wall-clock creation time, ms, for rolling by age. */
    readonly createdAt: number,
    /** Last modification time, ms, for time retention of segments without timestamps. */
    private modifiedAt: number,
    active: boolean,
  ) {
    this.sealed = !active;
    this.indexes = active ? emptyIndexes(baseOffset) : null;
    this.maxTimestamp = active ? -1 : null;
    this.lastBatchOffset = baseOffset;
    this.fsync = new GroupSync(() => this.fh.sync());
    this.handleClosed = new Promise((resolve) => (this.markHandleClosed = resolve));
  }

  /** Creates an empty active segment; fails if its file exists. */
  static async create(ctx: SegmentContext, baseOffset: number, now: number): Promise<LogSegment> {
    const fh = await open(path.join(ctx.dir, segmentFileName(baseOffset, LOG_SUFFIX)), 'wx+');
    try {
      await fsyncDir(ctx.dir);
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new LogSegment(ctx, baseOffset, fh, 0, baseOffset, now, now, true);
  }

  /** Opens a segment found on disk as closed; the log then resumes or recovers the last one. */
  static async open(ctx: SegmentContext, baseOffset: number): Promise<LogSegment> {
    const fh = await open(path.join(ctx.dir, segmentFileName(baseOffset, LOG_SUFFIX)), 'r+');
    try {
      const stat = await fh.stat();
      const createdAt = stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.mtimeMs;
      return new LogSegment(ctx, baseOffset, fh, stat.size, NaN, createdAt, stat.mtimeMs, false);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  get file(): string {
    return path.join(this.ctx.dir, segmentFileName(this.baseOffset, LOG_SUFFIX));
  }

  // ---- appends (active segment, one at a time) ----

  /**
   * Assigns consecutive offsets from `firstOffset` to the batches of each buffer (in place),
   * indexes them and writes all the buffers with one (vectored) write. Returns the offset after
   * each buffer's last batch.
   */
  async append(buffers: readonly Buffer[], firstOffset: number): Promise<number[]> {
    const indexes = this.activeIndexes();
    const start = this.size;
    const saved = this.saveTrackState(indexes);
    const ends: number[] = [];
    let offset = firstOffset;
    let position = start;
    for (const batches of buffers) {
      for (let pos = 0; pos < batches.length; pos += batchSizeAt(batches, pos)) {
        writeBaseOffset(batches, pos, offset);
        const last = offset + lastOffsetDelta(batches, pos);
        const size = batchSizeAt(batches, pos);
        this.track(indexes, position + pos, offset, last, size, maxTimestampAt(batches, pos));
        offset = last + 1;
      }
      position += batches.length;
      ends.push(offset);
    }
    try {
      await writeFully(this.fh, buffers, start);
    } catch (err) {
      this.restoreTrackState(indexes, saved);
      throw err;
    }
    this.size = position;
    return ends;
  }

  /** fsyncs the log file, sharing the fsync with concurrent callers. */
  async sync(): Promise<void> {
    if (!this.acquire()) return; // retired segments were synced or deleted already
    try {
      await this.fsync.sync();
    } finally {
      this.release();
    }
  }

  /**
   * Writes out the indexes and fsyncs everything; with `seal`, the segment takes no more appends
   * and its indexes become evictable.
   */
  async persist(seal: boolean, now: number): Promise<void> {
    const indexes = this.activeIndexes();
    if (seal && this.size > 0 && this.maxTimestamp !== null) {
      // Closed segments are not scanned on open, so their time index must end at their max.
      indexes.times.maybeAppend(this.maxTimestamp, this.lastBatchOffset);
    }
    await this.writeIndexes(indexes);
    await this.sync();
    if (seal) {
      this.sealed = true;
      this.modifiedAt = now;
      this.ctx.indexBudget.charge(this, indexBytes(indexes));
    }
  }

  // ---- opening the last segment ----

  /**
   * Makes this segment the active one after a clean shutdown: loads its indexes and scans the
   * headers after the last index entry. False when anything does not add up (then recover).
   */
  async resume(): Promise<boolean> {
    const indexes = await this.readIndexes();
    if (!indexes) return false;
    const from = indexes.offsets.last();
    const scanner = new HeaderScanner(this.readAt, from.position, this.size);
    let expected = from.offset;
    let maxTimestamp = indexes.times.lastTimestamp;
    while (await scanner.next()) {
      if (scanner.baseOffset !== expected) return false;
      maxTimestamp = Math.max(maxTimestamp, scanner.maxTimestamp);
      this.lastBatchOffset = scanner.baseOffset;
      expected = scanner.lastOffset + 1;
      scanner.advance();
    }
    if (scanner.problem !== null) return false;
    if (indexes.times.entries > 0 && indexes.times.lastOffset >= expected) return false;
    this.indexes = indexes;
    this.persistedEntries = { offsets: indexes.offsets.entries, times: indexes.times.entries };
    this.maxTimestamp = maxTimestamp;
    this.nextOffset = expected;
    this.bytesSinceIndexEntry = this.size - from.position;
    this.sealed = false;
    return true;
  }

  /** Starts rebuilding this segment as the active one from empty indexes (see log-recovery). */
  resetForRecovery(): void {
    this.indexes = emptyIndexes(this.baseOffset);
    this.persistedEntries = { offsets: 0, times: 0 };
    this.maxTimestamp = -1;
    this.lastBatchOffset = this.baseOffset;
    this.nextOffset = this.baseOffset;
    this.bytesSinceIndexEntry = 0;
    this.sealed = false;
  }

  /** Records a batch found sound during recovery. */
  trackRecovered(
    position: number,
    baseOffset: number,
    lastOffset: number,
    size: number,
    maxTimestamp: number,
  ): void {
    this.track(this.activeIndexes(), position, baseOffset, lastOffset, size, maxTimestamp);
  }

  /** Cuts the log file after `size` bytes (recovery of a torn tail). */
  async truncate(size: number): Promise<void> {
    await this.fh.truncate(size);
    await this.fh.sync();
    this.size = size;
  }

  readonly readAt = (buffer: Buffer, length: number, position: number): Promise<number> =>
    readFully(this.fh, buffer, length, position);

  // ---- reads (any segment, concurrently with appends) ----

  /**
   * Whole batches from the one holding `offset`, up to `maxBytes` (at least one whole batch with
   * `minOneBatch`), never past the bytes written when the read started.
   */
  async read(offset: number, maxBytes: number, minOneBatch: boolean): Promise<Buffer> {
    const limit = this.size;
    const found = await this.findBatch(offset, limit);
    if (!found || (found.size > maxBytes && !minOneBatch)) return EMPTY_RECORDS;
    const length = Math.max(found.size, Math.min(maxBytes, limit - found.position));
    const buffer = Buffer.allocUnsafe(length);
    const read = await this.readAt(buffer, length, found.position);
    if (read < found.size) {
      throw new CorruptSegmentError(this.file, found.position + read, 'file ends inside a batch');
    }
    return buffer.subarray(0, wholeBatchesLength(buffer, 0, read, maxBytes, true));
  }

  /** The first batch at or after `offset` (the one holding it), or null past the end. */
  async findBatch(offset: number, limit = this.size): Promise<BatchLocation | null> {
    const { offsets } = await this.loadedIndexes();
    const scanner = new HeaderScanner(this.readAt, offsets.lookup(offset).position, limit);
    return this.scan(scanner, (s) => s.lastOffset >= offset);
  }

  /** The first batch with a max timestamp >= `target` that ends at or after `minOffset`. */
  async findTimestamp(target: number, minOffset: number): Promise<BatchLocation | null> {
    const { offsets, times } = await this.loadedIndexes();
    const from = Math.max(times.scanStart(target), minOffset);
    const scanner = new HeaderScanner(this.readAt, offsets.lookup(from).position, this.size);
    return this.scan(scanner, (s) => s.lastOffset >= minOffset && s.maxTimestamp >= target);
  }

  /** Largest max timestamp of the segment's batches; -1 when none carries one. */
  async maxBatchTimestamp(): Promise<number> {
    if (this.maxTimestamp === null) await this.loadedIndexes();
    return this.maxTimestamp ?? -1;
  }

  /** Newest batch timestamp, or the file's modification time when no batch carries one. */
  async largestTimestamp(): Promise<number> {
    const max = await this.maxBatchTimestamp();
    return max >= 0 ? max : this.modifiedAt;
  }

  // ---- lifetime ----

  /** Pins the file handle for a read; false once the segment is retired. */
  acquire(): boolean {
    if (this.retired) return false;
    this.refs += 1;
    return true;
  }

  release(): void {
    this.refs -= 1;
    if (this.retired && this.refs === 0) this.closeHandle();
  }

  /** No new users; resolves once the current ones are done and the file handle is closed. */
  retire(): Promise<void> {
    if (!this.retired) {
      this.retired = true;
      this.ctx.indexBudget.release(this);
      this.indexes = null;
      if (this.refs === 0) this.closeHandle();
    }
    return this.handleClosed;
  }

  /**
   * Retires the segment and removes its files. Readers still holding it finish their reads
   * (POSIX keeps unlinked files readable); the handle closes after them.
   */
  async delete(): Promise<void> {
    void this.retire();
    for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      try {
        await unlink(path.join(this.ctx.dir, segmentFileName(this.baseOffset, suffix)));
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
  }

  evict(): void {
    if (this.sealed) this.indexes = null;
  }

  // ---- internals ----

  private closeHandle(): void {
    if (this.handleClosing) return;
    this.handleClosing = true;
    this.fh
      .close()
      .catch((err: unknown) => {
        this.ctx.logger.error(
          { ...this.ctx.logFields, err, file: this.file },
          'closing segment failed',
        );
      })
      .finally(this.markHandleClosed);
  }

  private track(
    indexes: Indexes,
    position: number,
    baseOffset: number,
    lastOffset: number,
    size: number,
    maxTimestamp: number,
  ): void {
    const max = Math.max(this.maxTimestamp ?? -1, maxTimestamp);
    // As Kafka: index a batch once an interval's worth of bytes precede it since the last entry.
    if (this.bytesSinceIndexEntry > 0 && this.bytesSinceIndexEntry >= this.ctx.indexIntervalBytes) {
      indexes.offsets.append(baseOffset, position);
      indexes.times.maybeAppend(max, baseOffset);
      this.bytesSinceIndexEntry = 0;
    }
    this.bytesSinceIndexEntry += size;
    this.maxTimestamp = max;
    this.lastBatchOffset = baseOffset;
    this.nextOffset = lastOffset + 1;
  }

  private saveTrackState(indexes: Indexes): TrackState {
    return {
      offsetEntries: indexes.offsets.entries,
      timeEntries: indexes.times.entries,
      bytesSinceIndexEntry: this.bytesSinceIndexEntry,
      maxTimestamp: this.maxTimestamp,
      lastBatchOffset: this.lastBatchOffset,
      nextOffset: this.nextOffset,
    };
  }

  private restoreTrackState(indexes: Indexes, saved: TrackState): void {
    indexes.offsets.truncate(saved.offsetEntries);
    indexes.times.truncate(saved.timeEntries);
    this.bytesSinceIndexEntry = saved.bytesSinceIndexEntry;
    this.maxTimestamp = saved.maxTimestamp;
    this.lastBatchOffset = saved.lastBatchOffset;
    this.nextOffset = saved.nextOffset;
  }

  private activeIndexes(): Indexes {
    if (this.sealed || !this.indexes) throw new Error(`${this.file} is not the active segment`);
    return this.indexes;
  }

  private async scan(
    scanner: HeaderScanner,
    wanted: (scanner: HeaderScanner) => boolean,
  ): Promise<BatchLocation | null> {
    while (await scanner.next()) {
      if (wanted(scanner)) {
        return {
          position: scanner.position,
          size: scanner.size,
          baseOffset: scanner.baseOffset,
          lastOffset: scanner.lastOffset,
          maxTimestamp: scanner.maxTimestamp,
        };
      }
      scanner.advance();
    }
    if (scanner.problem !== null) {
      throw new CorruptSegmentError(this.file, scanner.position, scanner.problem);
    }
    return null;
  }

  private loadedIndexes(): Promise<Indexes> {
    if (this.indexes) {
      if (this.sealed) this.ctx.indexBudget.touch(this);
      return Promise.resolve(this.indexes);
    }
    this.loading ??= this.loadIndexes().finally(() => (this.loading = null));
    return this.loading;
  }

  /** Loads a closed segment's indexes, rebuilding them from the log if they are unusable. */
  private async loadIndexes(): Promise<Indexes> {
    let indexes = await this.readIndexes();
    if (!indexes) {
      indexes = await this.rebuildIndexes();
      await this.writeIndexes(indexes, true);
    }
    if (this.maxTimestamp === null) this.maxTimestamp = indexes.times.lastTimestamp;
    if (!this.retired) {
      this.indexes = indexes;
      this.ctx.indexBudget.charge(this, indexBytes(indexes));
    }
    return indexes;
  }

  /** The index files as they are on disk; null (and a warning) when missing or inconsistent. */
  private async readIndexes(): Promise<Indexes | null> {
    const [offsetBytes, timeBytes] = await Promise.all([
      readFileIfExists(this.indexFile(INDEX_SUFFIX)),
      readFileIfExists(this.indexFile(TIME_INDEX_SUFFIX)),
    ]);
    let problem =
      offsetBytes === null || timeBytes === null
        ? 'index file missing'
        : (OffsetIndex.problem(offsetBytes, this.size) ?? TimeIndex.problem(timeBytes));
    let indexes: Indexes | null = null;
    if (offsetBytes !== null && timeBytes !== null && problem === null) {
      indexes = {
        offsets: new OffsetIndex(this.baseOffset, offsetBytes),
        times: new TimeIndex(this.baseOffset, timeBytes),
      };
      // Known for closed segments (the next one's base); the active one checks after its scan.
      const end = this.nextOffset;
      const { offsets, times } = indexes;
      if (
        (offsets.entries > 0 && offsets.last().offset >= end) ||
        (times.entries > 0 && times.lastOffset >= end)
      ) {
        problem = 'entries point past the end of the segment';
      }
    }
    if (problem === null) return indexes;
    if (this.size > 0) {
      this.ctx.logger.warn(
        { ...this.ctx.logFields, file: this.file, problem },
        'rebuilding segment indexes',
      );
    }
    return null;
  }

  /** Indexes a closed segment from its batch headers (its batches were synced when it closed). */
  private async rebuildIndexes(): Promise<Indexes> {
    const indexes = emptyIndexes(this.baseOffset);
    const scanner = new HeaderScanner(this.readAt, 0, this.size, 64 * 1024);
    let bytesSinceEntry = 0;
    let max = -1;
    let last = this.baseOffset;
    while (await scanner.next()) {
      max = Math.max(max, scanner.maxTimestamp);
      if (bytesSinceEntry > 0 && bytesSinceEntry >= this.ctx.indexIntervalBytes) {
        indexes.offsets.append(scanner.baseOffset, scanner.position);
        indexes.times.maybeAppend(max, scanner.baseOffset);
        bytesSinceEntry = 0;
      }
      bytesSinceEntry += scanner.size;
      last = scanner.baseOffset;
      scanner.advance();
    }
    if (scanner.problem !== null) {
      throw new CorruptSegmentError(this.file, scanner.position, scanner.problem);
    }
    indexes.times.maybeAppend(max, last);
    this.maxTimestamp = max;
    return indexes;
  }

  /** Writes the index entries not yet on disk (all of them when `rewrite`). */
  private async writeIndexes(indexes: Indexes, rewrite = false): Promise<void> {
    const from = rewrite ? { offsets: 0, times: 0 } : this.persistedEntries;
    await Promise.all([
      writeTail(
        this.indexFile(INDEX_SUFFIX),
        indexes.offsets.contents(from.offsets),
        from.offsets * indexes.offsets.entryBytes,
        true,
      ),
      writeTail(
        this.indexFile(TIME_INDEX_SUFFIX),
        indexes.times.contents(from.times),
        from.times * indexes.times.entryBytes,
        true,
      ),
    ]);
    this.persistedEntries = { offsets: indexes.offsets.entries, times: indexes.times.entries };
  }

  private indexFile(suffix: string): string {
    return path.join(this.ctx.dir, segmentFileName(this.baseOffset, suffix));
  }
}

function emptyIndexes(baseOffset: number): Indexes {
  return { offsets: new OffsetIndex(baseOffset), times: new TimeIndex(baseOffset) };
}

function indexBytes(indexes: Indexes): number {
  return indexes.offsets.capacityBytes + indexes.times.capacityBytes;
}
