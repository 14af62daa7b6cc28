/**
 * Framing of record sets held in memory: checking that a buffer is a run of whole v2 batches,
 * and cutting a run at a byte budget. Only the 61-byte headers are read, never the records.
 */
import {
  ATTRIBUTES,
  ATTR_TIMESTAMP_TYPE,
  BASE_TIMESTAMP,
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  LAST_OFFSET_DELTA,
  MAGIC,
  MAX_TIMESTAMP,
  RECORDS_COUNT,
  batchSizeAt,
  readBaseOffset,
  readInt64,
} from './batch-header.js';
import { InvalidBatchError, type StoredBatchHeader } from './types.js';

export const EMPTY_RECORDS: Buffer = Buffer.alloc(0);

export interface BatchSetSummary {
  batchCount: number;
  /** Offsets the batches take together: the sum of lastOffsetDelta + 1. */
  offsetCount: number;
  /** Messages as the producer counted them (recordsCount), for the flush policy. */
  recordCount: number;
}

/** Why the bytes at `pos` cannot be a whole v2 batch ending by `end`; null when they can. */
export function framingProblem(buf: Buffer, pos: number, end: number): string | null {
  if (end - pos < BATCH_HEADER_SIZE) return `${end - pos} bytes cannot hold a batch header`;
  const size = batchSizeAt(buf, pos);
  if (size < BATCH_HEADER_SIZE) return `batch size ${size} is smaller than a header`;
  if (size > end - pos) return `batch size ${size} runs past the end (${end - pos} bytes left)`;
  if (buf[pos + MAGIC] !== 2) return `magic ${buf[pos + MAGIC]} is not 2`;
  if (buf.readInt32BE(pos + LAST_OFFSET_DELTA) < 0) return 'negative lastOffsetDelta';
  return null;
}

/** Checks that `buf` is one or more whole batches and sums what the log needs to know. */
export function frameBatchSet(buf: Buffer): BatchSetSummary {
  if (buf.length === 0) throw new InvalidBatchError('empty record set');
  const summary: BatchSetSummary = { batchCount: 0, offsetCount: 0, recordCount: 0 };
  for (let pos = 0; pos < buf.length; pos += batchSizeAt(buf, pos)) {
    const problem = framingProblem(buf, pos, buf.length);
    if (problem !== null) throw new InvalidBatchError(`batch at byte ${pos}: ${problem}`);
    summary.batchCount += 1;
    summary.offsetCount += lastOffsetDelta(buf, pos) + 1;
    summary.recordCount += Math.max(0, buf.readInt32BE(pos + RECORDS_COUNT));
  }
  return summary;
}

export function lastOffsetDelta(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + LAST_OFFSET_DELTA);
}

/** Offset of the last record of the batch at `pos`. */
export function lastOffsetAt(buf: Buffer, pos: number): number {
  return readBaseOffset(buf, pos) + lastOffsetDelta(buf, pos);
}

export function maxTimestampAt(buf: Buffer, pos: number): number {
  return readInt64(buf, pos + MAX_TIMESTAMP);
}

/**
 * The timestamp consumers see on the first record of the batch at `pos`: the base timestamp, or
 * the max timestamp when the batch carries log append time (then every record has that one).
 */
export function firstTimestampAt(buf: Buffer, pos: number): number {
  const logAppendTime = (buf.readInt16BE(pos + ATTRIBUTES) & ATTR_TIMESTAMP_TYPE) !== 0;
  return logAppendTime ? maxTimestampAt(buf, pos) : readInt64(buf, pos + BASE_TIMESTAMP);
}

/** The header facts of the batch at `pos`. */
export function storedBatchHeaderAt(buf: Buffer, pos: number): StoredBatchHeader {
  return {
    baseOffset: readBaseOffset(buf, pos),
    lastOffset: lastOffsetAt(buf, pos),
    firstTimestamp: firstTimestampAt(buf, pos),
    maxTimestamp: maxTimestampAt(buf, pos),
  };
}

/**
 * Bytes of the whole batches from `pos` that fit in `budget` (the first one regardless when
 * `minOneBatch`), stopping at `end` or at a batch cut short by it. `buf[pos, end)` must be a run
 * of well-framed batches, possibly cut short.
 */
export function wholeBatchesLength(
  buf: Buffer,
  pos: number,
  end: number,
  budget: number,
  minOneBatch: boolean,
): number {
  let length = 0;
  while (end - (pos + length) >= BATCH_LOG_OVERHEAD) {
    const size = batchSizeAt(buf, pos + length);
    if (size > end - (pos + length)) break;
    if (length + size > budget && !(minOneBatch && length === 0)) break;
    length += size;
  }
  return length;
}

/**
 * Position of the first batch in the well-framed `buf[pos, end)` whose last offset is at least
 * `offset` (the batch holding it, when offsets have no gap), or -1.
 */
export function findBatch(buf: Buffer, pos: number, end: number, offset: number): number {
  for (; pos < end; pos += batchSizeAt(buf, pos)) {
    if (lastOffsetAt(buf, pos) >= offset) return pos;
  }
  return -1;
}
