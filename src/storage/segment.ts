/**
 * One segment of a partition log: `<base offset>.log` holding whole batches back to back, with
 * its sparse `.index` and `.timeindex`. The active (last) segment takes appends and keeps its
 * indexes in memory, writing them out when it is sealed or the log closes cleanly (after a crash
 * they are rebuilt from the log). Closed segments load their indexes on demand, within a
 * store-wide memory budget that evicts the least recently used; index files whose entries do not
 * fit the segment are rebuilt from it.
 *
 * A segment sealed by a claim (owner-fence: the previous owner may still have had a write in
 * flight into it) also has `<base offset>.sealed`, its seal record (SealRecord): its length is the
 * record's, whatever the file's, for every open after it; retention deletes the record with the
 * segment.
 */
import { randomUUID } from 'node:crypto';
import { link, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { batchSizeAt, writeBaseOffset } from './batch-header.js';
import {
  EMPTY_RECORDS,
  lastOffsetDelta,
  maxTimestampAt,
  wholeBatchesLength,
} from './batch-framing.js';
import {
  createFileAtomically,
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
import type { StoredBatchHeader } from './types.js';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
/** The seal record of a segment sealed by a claim (see SealRecord). */
export const SEALED_SUFFIX = '.sealed';

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

/**
 * What `<base offset>.sealed` holds, as one line of JSON: the segment's length as the owner that
 * sealed it validated it, written (exclusively: never replaced) before that owner started the
 * next segment. Bytes of the log file past `bytes` are not part of the log: a previous owner's
 * write that was in flight when the claim was made may land there at any time. `nextOffset` and
 * `maxTimestamp` describe the batches within `bytes`; `epoch` is the sealing claim's.
 */
export interface SealRecord {
  bytes: number;
  nextOffset: number;
  maxTimestamp: number;
  epoch: number;
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
  /** Set for a segment sealed by a claim: its length and max timestamp are the record's. */
  private sealRecord: SealRecord | null = null;
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

  /**
   * Makes an empty active segment out of a file at `baseOffset` that was created after this log
   * listed its directory (see FilePartitionLog.open); fails unless the file is empty.
   */
  static async adoptEmpty(
    ctx: SegmentContext,
    baseOffset: number,
    now: number,
  ): Promise<LogSegment> {
    const file = path.join(ctx.dir, segmentFileName(baseOffset, LOG_SUFFIX));
    const fh = await open(file, 'r+');
    try {
      const { size } = await fh.stat();
      if (size !== 0) throw new CorruptSegmentError(file, 0, `found ${size} bytes, none expected`);
      return new LogSegment(ctx, baseOffset, fh, 0, baseOffset, now, now, true);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /**
   * Opens a segment found on disk as closed; the log then resumes or recovers the last one. With
   * `sealed` (its seal record exists), it is sealed at the record's length whatever the file's.
   */
  static async open(ctx: SegmentContext, baseOffset: number, sealed = false): Promise<LogSegment> {
    const record = sealed ? await readSealRecord(ctx, baseOffset) : null;
    const fh = await open(path.join(ctx.dir, segmentFileName(baseOffset, LOG_SUFFIX)), 'r+');
    try {
      const stat = await fh.stat();
      const createdAt = stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.mtimeMs;
      let size = stat.size;
      if (record) {
        if (stat.size < record.bytes) {
          ctx.logger.warn(
            { ...ctx.logFields, file: segmentFileName(baseOffset, LOG_SUFFIX), size, record },
            'sealed segment is shorter than its seal record',
          );
        }
        if (stat.size > record.bytes) {
          ctx.logger.info(
            {
              ...ctx.logFields,
              file: segmentFileName(baseOffset, LOG_SUFFIX),
              sealedBytes: record.bytes,
              ignoredBytes: stat.size - record.bytes,
            },
            'ignoring bytes written past the sealed length of a segment',
          );
        }
        size = Math.min(size, record.bytes);
      }
      const nextOffset = record ? record.nextOffset : NaN;
      const segment = new LogSegment(
        ctx,
        baseOffset,
        fh,
        size,
        nextOffset,
        createdAt,
        stat.mtimeMs,
        false,
      );
      if (record) {
        segment.sealRecord = record;
        segment.maxTimestamp = record.maxTimestamp;
      }
      return segment;
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  get file(): string {
    return path.join(this.ctx.dir, segmentFileName(this.baseOffset, LOG_SUFFIX));
  }

  /** The seal record when a claim sealed this segment; null otherwise. */
  get seal(): SealRecord | null {
    return this.sealRecord;
  }

  // ---- appends (active segment, one at a time) ----

  /**
   * Assigns consecutive offsets from `firstOffset` to the batches of each buffer (in place),
   * indexes them and writes all the buffers with one (vectored) write. Returns the offset after
   * each buffer's last batch. `confirm` runs once the write has completed: if it throws, the
   * segment forgets the write as if it had failed (its bytes stay in the file, past `size`).
   */
  async append(
    buffers: readonly Buffer[],
    firstOffset: number,
    confirm?: () => void,
  ): Promise<number[]> {
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
      confirm?.();
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
    // An empty segment has nothing to index (readIndexes knows). Not writing its index files
    // also means that an owner whose claim was superseded just before it closed cannot write
    // them late over those of the new owner's segment of the same name (see owner-fence).
    if (this.size > 0) await this.writeIndexes(indexes);
    await this.sync();
    if (seal) {
      this.sealed = true;
      this.modifiedAt = now;
      this.ctx.indexBudget.charge(this, indexBytes(indexes));
    }
  }

  /**
   * Seals this last segment, recovered by a claim that was not a clean hand-over, at its current
   * (validated) length for good: writes its indexes, fsyncs, then creates its seal record. The
   * previous owner may still have a write in flight into this file (see owner-fence): whatever
   * lands past the sealed length is never read. Returns the record in force, which is another's
   * if a claimer (one stalled since before this claim) created it after this log opened the
   * segment: the caller then reopens the segment by that record.
   */
  async sealForClaim(epoch: number, now: number): Promise<SealRecord> {
    await this.persist(true, now);
    const record: SealRecord = {
      bytes: this.size,
      nextOffset: this.nextOffset,
      maxTimestamp: this.maxTimestamp ?? -1,
      epoch,
    };
    const file = this.indexFile(SEALED_SUFFIX);
    try {
      await createFileAtomically(
        file,
        `${JSON.stringify(record)}\n`,
        `${file}.${randomUUID()}.tmp`,
      );
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
      return readSealRecord(this.ctx, this.baseOffset);
    }
    this.sealRecord = record;
    return record;
  }

  /**
   * Moves this empty last segment's file out of the way (renamed to a unique name, then
   * removed), so that a new segment of the same base offset starts in a new file: a write of the
   * previous owner still in flight into this one lands in a file nobody reads. If the name no
   * longer holds this segment's file (another claimer moved it and started a new one, since this
   * log listed the directory), whatever it holds is left there.
   */
  async moveAside(): Promise<void> {
    const own = await this.fh.stat({ bigint: true });
    const aside = `${this.file}.superseded-${randomUUID()}`;
    try {
      await rename(this.file, aside);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    const moved = await stat(aside, { bigint: true });
    if (moved.ino !== own.ino || moved.dev !== own.dev) {
      // Not ours to move: put it back (link, unlike rename, never replaces).
      await link(aside, this.file);
    }
    await unlink(aside);
    await fsyncDir(this.ctx.dir);
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

  /** The header of the first batch at or after `offset` (the one holding it), or null past the end. */
  async batchHeaderAt(offset: number): Promise<StoredBatchHeader | null> {
    const { offsets } = await this.loadedIndexes();
    const scanner = new HeaderScanner(this.readAt, offsets.lookup(offset).position, this.size);
    const found = await this.scan(scanner, (s) => s.lastOffset >= offset);
    return found && scanner.header(); // scan stops on the batch it found
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
    // The log file first: a seal record never goes before the bytes it bounds.
    for (const suffix of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX, SEALED_SUFFIX]) {
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

  /**
   * The index files as they are on disk; null (and a warning) when missing or inconsistent. Each
   * entry is checked against the segment's length (for a sealed segment, the sealed one) and end
   * offset; a sealed segment's time index must also end at the recorded max timestamp. So index
   * files written late by a superseded owner (see owner-fence) are used only when every entry in
   * them indexes the bytes this segment holds.
   */
  private async readIndexes(): Promise<Indexes | null> {
    if (this.size === 0) return emptyIndexes(this.baseOffset); // whatever files there may be
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
      } else if (this.sealRecord && times.lastTimestamp !== this.sealRecord.maxTimestamp) {
        problem = 'time index does not end at the sealed max timestamp';
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

async function readSealRecord(ctx: SegmentContext, baseOffset: number): Promise<SealRecord> {
  const file = path.join(ctx.dir, segmentFileName(baseOffset, SEALED_SUFFIX));
  const contents = await readFileIfExists(file);
  const record = contents === null ? null : parseSealRecord(contents.toString('utf8'), baseOffset);
  if (!record) {
    // Created atomically, so unreadable only when damaged: the segment's length is unknown.
    throw new CorruptSegmentError(file, 0, contents === null ? 'missing' : 'not a seal record');
  }
  return record;
}

function parseSealRecord(text: string, baseOffset: number): SealRecord | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { bytes, nextOffset, maxTimestamp, epoch } = parsed as Record<string, unknown>;
  const whole = (value: unknown, min: number): value is number =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
  if (
    !whole(bytes, 0) ||
    !whole(nextOffset, baseOffset) ||
    !whole(maxTimestamp, -1) ||
    !whole(epoch, 0)
  ) {
    return null;
  }
  return { bytes, nextOffset, maxTimestamp, epoch };
}

function emptyIndexes(baseOffset: number): Indexes {
  return { offsets: new OffsetIndex(baseOffset), times: new TimeIndex(baseOffset) };
}

function indexBytes(indexes: Indexes): number {
  return indexes.offsets.capacityBytes + indexes.times.capacityBytes;
}
