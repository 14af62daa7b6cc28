/**
 * Builds v2 record batches for tests: a valid header with a correct CRC-32C, followed by opaque
 * record bytes (nothing here reads records, only their count in the header).
 */
import {
  ATTRIBUTES,
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  BASE_SEQUENCE,
  BASE_TIMESTAMP,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH,
  BATCH_LOG_OVERHEAD,
  CRC,
  LAST_OFFSET_DELTA,
  MAGIC,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORDS_COUNT,
  computeBatchCrc,
} from '../../../src/storage/batch-header.js';

export interface BatchSpec {
  baseOffset?: number;
  magic?: number;
  compression?: number;
  transactional?: boolean;
  control?: boolean;
  recordCount?: number;
  /** Default recordCount - 1, as clients write it. */
  lastOffsetDelta?: number;
  baseTimestamp?: number;
  maxTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Opaque bytes after the header; default 10 per record. */
  payloadSize?: number;
}

export function buildBatch(spec: BatchSpec = {}): Buffer {
  const recordCount = spec.recordCount ?? 1;
  const payloadSize = spec.payloadSize ?? 10 * Math.max(recordCount, 0);
  const buf = Buffer.alloc(BATCH_HEADER_SIZE + payloadSize);
  buf.writeBigInt64BE(BigInt(spec.baseOffset ?? 0), 0);
  buf.writeInt32BE(buf.length - BATCH_LOG_OVERHEAD, BATCH_LENGTH);
  buf.writeInt32BE(-1, PARTITION_LEADER_EPOCH);
  buf.writeInt8(spec.magic ?? 2, MAGIC);
  const attributes =
    (spec.compression ?? 0) |
    (spec.transactional ? ATTR_TRANSACTIONAL : 0) |
    (spec.control ? ATTR_CONTROL : 0);
  buf.writeInt16BE(attributes, ATTRIBUTES);
  buf.writeInt32BE(spec.lastOffsetDelta ?? recordCount - 1, LAST_OFFSET_DELTA);
  const baseTimestamp = spec.baseTimestamp ?? 1_700_000_000_000;
  buf.writeBigInt64BE(BigInt(baseTimestamp), BASE_TIMESTAMP);
  buf.writeBigInt64BE(BigInt(spec.maxTimestamp ?? baseTimestamp), MAX_TIMESTAMP);
  buf.writeBigInt64BE(BigInt(spec.producerId ?? -1), PRODUCER_ID);
  buf.writeInt16BE(spec.producerEpoch ?? -1, PRODUCER_EPOCH);
  buf.writeInt32BE(spec.baseSequence ?? -1, BASE_SEQUENCE);
  buf.writeInt32BE(recordCount, RECORDS_COUNT);
  for (let i = BATCH_HEADER_SIZE; i < buf.length; i++) buf[i] = i & 0xff;
  return sealBatch(buf);
}

/** Recomputes the CRC after a test edits header fields in place. */
export function sealBatch(buf: Buffer): Buffer {
  buf.writeUInt32BE(computeBatchCrc(buf, 0, buf.length), CRC);
  return buf;
}
