/**
 * The fields of a v2 record batch header that the Kafka handler acts on, read from the header
 * alone: no decompression, no per-record work. Used when a batch is produced (validation,
 * idempotence) and when the log tail is replayed after a restart (producer state).
 */
import { batchHeader } from '../../../src/api/index.js';

const {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES,
  BASE_SEQUENCE,
  BATCH_HEADER_SIZE,
  LAST_OFFSET_DELTA,
  MAX_TIMESTAMP,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORDS_COUNT,
  batchSizeAt,
  readBaseOffset,
  readInt64,
} = batchHeader;

/** Codec ids of attributes bits 0-2; 5-7 are unassigned. */
export const CompressionCodec = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;

/** producerId of a batch from a producer that is neither idempotent nor transactional. */
export const NO_PRODUCER_ID = -1;

export interface BatchInfo {
  /** Byte position of the batch in the buffer it was read from. */
  position: number;
  /** Total bytes of the batch, log overhead included. */
  size: number;
  baseOffset: number;
  lastOffsetDelta: number;
  recordCount: number;
  maxTimestamp: number;
  /** NO_PRODUCER_ID (or any negative id) for a plain, non-idempotent producer. */
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  isTransactional: boolean;
  isControl: boolean;
  /** A CompressionCodec value (or an unassigned id, which validation rejects). */
  compression: number;
}

/** Reads the header of the batch at `position`; the caller has checked that the header is there. */
export function readBatchInfo(buf: Buffer, position: number): BatchInfo {
  const attributes = buf.readInt16BE(position + ATTRIBUTES);
  return {
    position,
    size: batchSizeAt(buf, position),
    baseOffset: readBaseOffset(buf, position),
    lastOffsetDelta: buf.readInt32BE(position + LAST_OFFSET_DELTA),
    recordCount: buf.readInt32BE(position + RECORDS_COUNT),
    maxTimestamp: readInt64(buf, position + MAX_TIMESTAMP),
    producerId: readInt64(buf, position + PRODUCER_ID),
    producerEpoch: buf.readInt16BE(position + PRODUCER_EPOCH),
    baseSequence: buf.readInt32BE(position + BASE_SEQUENCE),
    isTransactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
    isControl: (attributes & ATTR_CONTROL) !== 0,
    compression: attributes & ATTR_COMPRESSION_MASK,
  };
}

/**
 * The size of the whole batch at `position`: 0 when the rest of the buffer holds only part of
 * one, -1 when the size field is too small for a batch header (the bytes are not a log).
 */
function wholeBatchAt(records: Buffer, position: number): number {
  if (records.length - position < BATCH_HEADER_SIZE) return 0;
  const size = batchSizeAt(records, position);
  if (size < BATCH_HEADER_SIZE) return -1;
  return records.length - position < size ? 0 : size;
}

/**
 * The headers of the whole batches in `records`, as the message store returns them. A partial
 * batch at the end is skipped, as Kafka's batch iterator does; a batch too short to hold its
 * own header means the bytes are not a log at all, so it throws.
 */
export function* readBatchInfos(records: Buffer): Generator<BatchInfo> {
  for (let position = 0; position < records.length;) {
    const size = wholeBatchAt(records, position);
    if (size < 0) {
      const claimed = batchSizeAt(records, position);
      throw new Error(
        `batch at byte ${position} claims ${claimed} bytes, less than a batch header`,
      );
    }
    if (size === 0) return;
    yield readBatchInfo(records, position);
    position += size;
  }
}

/**
 * How many batches and records the whole batches in `records` hold, from two header fields per
 * batch: what a fetch counts for its metrics, without reading any record. Stops quietly at
 * bytes that are not a batch: counting must never fail a fetch.
 */
export function countBatches(records: Buffer): { batches: number; records: number } {
  let batches = 0;
  let count = 0;
  for (let position = 0; position < records.length;) {
    const size = wholeBatchAt(records, position);
    if (size <= 0) break;
    batches++;
    count += records.readInt32BE(position + RECORDS_COUNT);
    position += size;
  }
  return { batches, records: count };
}
