/**
 * Byte layout of a Kafka v2 record batch header (61 bytes, big-endian). The store uses it to
 * frame, offset and index batches; the Kafka handler uses it to validate them. Nothing here
 * decompresses or touches individual records.
 */
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

export const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the part of the header not counted in batchLength. */
export const BATCH_LOG_OVERHEAD = 12;

export const BASE_OFFSET = 0;
export const BATCH_LENGTH = 8;
export const PARTITION_LEADER_EPOCH = 12;
export const MAGIC = 16;
export const CRC = 17;
export const ATTRIBUTES = 21;
export const LAST_OFFSET_DELTA = 23;
export const BASE_TIMESTAMP = 27;
export const MAX_TIMESTAMP = 35;
export const PRODUCER_ID = 43;
export const PRODUCER_EPOCH = 51;
export const BASE_SEQUENCE = 53;
export const RECORDS_COUNT = 57;

export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_TIMESTAMP_TYPE = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;

/** CRC-32C (Castagnoli), hardware-accelerated where the CPU has it. */
export function crc32c(data: Buffer): number {
  return nativeCrc32c(data) >>> 0;
}

/** Total bytes of the batch starting at `pos` (header included), from its batchLength field. */
export function batchSizeAt(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + BATCH_LENGTH) + BATCH_LOG_OVERHEAD;
}

/** CRC-32C over attributes..end, as stored in the batch's crc field. */
export function computeBatchCrc(buf: Buffer, pos: number, size: number): number {
  return crc32c(buf.subarray(pos + ATTRIBUTES, pos + size));
}

export function readBaseOffset(buf: Buffer, pos: number): number {
  return Number(buf.readBigInt64BE(pos + BASE_OFFSET));
}

export function writeBaseOffset(buf: Buffer, pos: number, offset: number): void {
  buf.writeBigInt64BE(BigInt(offset), pos + BASE_OFFSET);
}

export function readInt64(buf: Buffer, at: number): number {
  return Number(buf.readBigInt64BE(at));
}
