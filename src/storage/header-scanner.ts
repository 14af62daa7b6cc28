/**
 * Walks the batch headers of a segment file from a position, reading the file in chunks so that
 * skipping small batches costs one read per chunk and large batches are never read whole.
 */
import { BATCH_HEADER_SIZE, batchSizeAt, readBaseOffset } from './batch-header.js';
import {
  framingProblem,
  lastOffsetDelta,
  maxTimestampAt,
  storedBatchHeaderAt,
} from './batch-framing.js';
import type { StoredBatchHeader } from './types.js';

export type ReadAt = (buffer: Buffer, length: number, position: number) => Promise<number>;

/** Enough for the headers of an index interval's worth of small batches in one read. */
const DEFAULT_CHUNK_BYTES = 8192;

export class HeaderScanner {
  /** Why the scan stopped before `end`; null while it has not, or when it reached `end`. */
  problem: string | null = null;
  private readonly chunk: Buffer;
  private chunkStart = 0;
  private chunkLength = 0;
  private at = 0;

  constructor(
    private readonly readAt: ReadAt,
    /** File position of the current batch. */
    public position: number,
    private readonly end: number,
    chunkBytes = DEFAULT_CHUNK_BYTES,
  ) {
    this.chunk = Buffer.allocUnsafe(Math.max(chunkBytes, BATCH_HEADER_SIZE));
  }

  /** Loads the header at `position`; false at `end` or where no sound batch header is. */
  async next(): Promise<boolean> {
    if (this.position >= this.end) return false;
    const inChunk = this.chunkStart + this.chunkLength - this.position;
    if (this.position < this.chunkStart || inChunk < BATCH_HEADER_SIZE) {
      const length = Math.min(this.chunk.length, this.end - this.position);
      this.chunkLength = await this.readAt(this.chunk, length, this.position);
      this.chunkStart = this.position;
      if (this.chunkLength < Math.min(length, BATCH_HEADER_SIZE)) {
        this.problem = `file ends at ${this.position + this.chunkLength}, before ${this.end}`;
        return false;
      }
    }
    this.at = this.position - this.chunkStart;
    this.problem = framingProblem(this.chunk, this.at, this.at + (this.end - this.position));
    return this.problem === null;
  }

  get baseOffset(): number {
    return readBaseOffset(this.chunk, this.at);
  }

  get lastOffset(): number {
    return this.baseOffset + lastOffsetDelta(this.chunk, this.at);
  }

  get size(): number {
    return batchSizeAt(this.chunk, this.at);
  }

  get maxTimestamp(): number {
    return maxTimestampAt(this.chunk, this.at);
  }

  /** The facts of the current batch's header. */
  header(): StoredBatchHeader {
    return storedBatchHeaderAt(this.chunk, this.at);
  }

  advance(): void {
    this.position += this.size;
  }
}
