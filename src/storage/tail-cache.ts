/**
 * The most recently appended batches of one log, kept in memory so that consumers at the end of
 * the log are served without touching the disk. It holds a contiguous run of offsets ending at the
 * log end, as the append buffers themselves (copied only when caching a view would pin a much
 * larger allocation), bounded per log and by a store-wide budget that evicts the oldest appends
 * of any log first.
 */
import { EMPTY_RECORDS, findBatch, wholeBatchesLength } from './batch-framing.js';
import type { Evictable, MemoryBudget } from './memory-budget.js';
import { lastAtOrBelow } from './offset-search.js';

interface Chunk extends Evictable {
  baseOffset: number;
  endOffset: number;
  bytes: Buffer;
}

export class TailCache {
  // chunks[head..] are live; dropped chunks are compacted away in bulk.
  private chunks: Chunk[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    private readonly budget: MemoryBudget,
    private readonly maxBytes: number,
  ) {}

  get cachedBytes(): number {
    return this.bytes;
  }

  /** Adds the batches just appended at [baseOffset, endOffset). */
  add(batches: Buffer, baseOffset: number, endOffset: number): void {
    const last = this.chunks[this.chunks.length - 1];
    if (this.head < this.chunks.length && last.endOffset !== baseOffset) this.clear();
    if (batches.length > this.maxBytes || batches.length > this.budget.limitBytes) {
      this.clear(); // the run must stay contiguous, so skipping one append empties it
      return;
    }
    const chunk: Chunk = {
      baseOffset,
      endOffset,
      bytes: ownedCopyIfWasteful(batches),
      evict: () => this.dropThrough(chunk),
    };
    this.chunks.push(chunk);
    this.bytes += chunk.bytes.length;
    while (this.bytes > this.maxBytes) this.dropThrough(this.chunks[this.head]);
    this.budget.charge(chunk, chunk.bytes.length);
  }

  /**
   * Whole batches from the one holding `offset`, as ReadResult.records; null when `offset` is
   * not cached (below the cached run or at/after its end).
   */
  read(offset: number, maxBytes: number, minOneBatch: boolean): Buffer | null {
    const first = this.findChunk(offset);
    if (first < 0) return null;
    const parts: Buffer[] = [];
    let total = 0;
    let pos = findBatch(this.chunks[first].bytes, 0, this.chunks[first].bytes.length, offset);
    for (let i = first; i < this.chunks.length && pos >= 0; i++, pos = 0) {
      const bytes = this.chunks[i].bytes;
      const length = wholeBatchesLength(
        bytes,
        pos,
        bytes.length,
        maxBytes - total,
        minOneBatch && total === 0,
      );
      if (length > 0) parts.push(bytes.subarray(pos, pos + length));
      total += length;
      if (pos + length < bytes.length) break; // out of budget inside this chunk
    }
    if (parts.length === 0) return EMPTY_RECORDS;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
  }

  clear(): void {
    for (let i = this.head; i < this.chunks.length; i++) this.budget.release(this.chunks[i]);
    this.chunks = [];
    this.head = 0;
    this.bytes = 0;
  }

  /** Index of the live chunk holding `offset`, or -1. */
  private findChunk(offset: number): number {
    const last = this.chunks.length - 1;
    if (this.head > last || offset >= this.chunks[last].endOffset) return -1;
    return lastAtOrBelow(this.chunks, offset, this.head, last);
  }

  /** Drops `chunk` and everything older (the budget evicts a log's chunks in append order). */
  private dropThrough(chunk: Chunk): void {
    const at = this.chunks.indexOf(chunk, this.head);
    if (at < 0) return;
    for (let i = this.head; i <= at; i++) {
      this.bytes -= this.chunks[i].bytes.length;
      this.budget.release(this.chunks[i]);
    }
    this.head = at + 1;
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * The append buffer itself, unless it is a small view of a much larger allocation (a socket
 * chunk, Node's 8 KiB pool) that caching would pin: then a copy of just the batches.
 */
function ownedCopyIfWasteful(batches: Buffer): Buffer {
  if (batches.byteLength * 2 >= batches.buffer.byteLength) return batches;
  const copy = Buffer.allocUnsafeSlow(batches.length);
  batches.copy(copy);
  return copy;
}
