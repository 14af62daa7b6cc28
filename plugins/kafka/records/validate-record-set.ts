/**
 * Validation of the `records` of one partition in a Produce request (v3+), from batch headers
 * only: framing, magic, CRC-32C and the header rules Kafka applies to batches from clients.
 * The checks run in the order Kafka runs them, so a request that breaks several rules gets the
 * error a Kafka broker would give:
 *   1. ProduceRequest.validateRecords (KafkaApis, before the append),
 *   2. UnifiedLog.analyzeAndValidateRecords (base offset, size, CRC),
 *   3. LogValidator.validateBatch (offset range vs count, control batches, sequence).
 * Per-record checks (timestamps, keys on compacted topics) need the records and are not done here.
 */
import { batchHeader } from '../../../src/api/index.js';
import { ErrorCode } from '../protocol/index.js';
import { CompressionCodec, readBatchInfo, type BatchInfo } from './batch-info.js';

const { BATCH_HEADER_SIZE, BATCH_LENGTH, BATCH_LOG_OVERHEAD, CRC, MAGIC, computeBatchCrc } =
  batchHeader;

const { CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, UNSUPPORTED_COMPRESSION_TYPE, INVALID_RECORD } =
  ErrorCode;

/** Kafka's default `message.max.bytes` (topic setting `max.message.bytes`). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** The only batch format Produce v3+ may carry. */
const MAGIC_V2 = 2;
/** Smallest size field Kafka's batch iterator accepts: a magic v0 message (LegacyRecord.RECORD_OVERHEAD_V0). */
const MIN_SIZE_FIELD = 14;
/** Produce v7 is the first version allowed to carry zstd (KIP-110). */
const FIRST_PRODUCE_VERSION_WITH_ZSTD = 7;

export interface ValidateOptions {
  /** Produce request version; below 7, zstd batches are refused. Omitted: no version gate. */
  produceVersion?: number;
  /** Largest batch the topic accepts; default Kafka's 1048588. */
  maxMessageBytes?: number;
}

export interface RecordSetInfo {
  /** The batches in order; Produce v3+ carries exactly one per partition. */
  batches: BatchInfo[];
  recordCount: number;
  sizeInBytes: number;
}

export type RecordSetResult =
  { ok: true; recordSet: RecordSetInfo } | { ok: false; errorCode: number; message: string };

export function validateRecordSet(records: Buffer, options: ValidateOptions = {}): RecordSetResult {
  // 1. ProduceRequest.validateRecords: at least one batch, magic 2, zstd from v7, exactly one batch.
  const first = frameAt(records, 0);
  if (first.kind === 'corrupt') return reject(CORRUPT_MESSAGE, first.message);
  if (first.kind === 'partial') {
    return reject(INVALID_RECORD, 'Produce requests must have at least one record batch');
  }
  // Magic 0/1 message sets in Produce v3+: Kafka 3.x/4.x answers INVALID_RECORD (an
  // InvalidRecordException from ProduceRequest.validateRecords), not UNSUPPORTED_VERSION or
  // CORRUPT_MESSAGE: the request version is fine and the bytes are intact, the content is not
  // allowed. Only an out-of-range magic is CORRUPT_MESSAGE (caught by the framing above).
  if (records[MAGIC] !== MAGIC_V2) {
    return reject(
      INVALID_RECORD,
      'Produce requests are only allowed to contain record batches with magic version 2',
    );
  }
  if (first.size < BATCH_HEADER_SIZE) {
    return reject(
      CORRUPT_MESSAGE,
      `Record batch is corrupt: ${first.size} bytes, less than its ${BATCH_HEADER_SIZE}-byte header`,
    );
  }
  const batch = readBatchInfo(records, 0);
  const version = options.produceVersion;
  if (
    version !== undefined &&
    version < FIRST_PRODUCE_VERSION_WITH_ZSTD &&
    batch.compression === CompressionCodec.ZSTD
  ) {
    return reject(
      UNSUPPORTED_COMPRESSION_TYPE,
      `Produce requests with version ${version} are not allowed to use ZStandard compression`,
    );
  }
  if (first.size < records.length) {
    const next = frameAt(records, first.size);
    if (next.kind === 'corrupt') return reject(CORRUPT_MESSAGE, next.message);
    if (next.kind === 'batch') {
      return reject(
        INVALID_RECORD,
        'Produce requests are only allowed to contain exactly one record batch',
      );
    }
    // Deliberate difference: Kafka's iterator stops at a partial batch and the log silently
    // trims those bytes. We refuse the request instead of acknowledging bytes we drop; no
    // client sends them, so only a broken client sees this, and INVALID_RECORD is not retried.
    return reject(
      INVALID_RECORD,
      `${records.length - first.size} bytes after the record batch are not a whole batch`,
    );
  }

  // 2. UnifiedLog.analyzeAndValidateRecords.
  if (batch.baseOffset !== 0) {
    return reject(
      INVALID_RECORD,
      `The baseOffset of the record batch should be 0, but it is ${batch.baseOffset}`,
    );
  }
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (batch.size > maxMessageBytes) {
    return reject(
      MESSAGE_TOO_LARGE,
      `The record batch size is ${batch.size} bytes which exceeds the maximum configured value of ${maxMessageBytes}`,
    );
  }
  const storedCrc = records.readUInt32BE(CRC);
  if (storedCrc !== computeBatchCrc(records, 0, batch.size)) {
    return reject(CORRUPT_MESSAGE, `Record is corrupt (stored crc = ${storedCrc})`);
  }
  // Kafka fails here with an IllegalArgumentException from CompressionType.forId, which reaches
  // the client as UNKNOWN_SERVER_ERROR; we name the client's mistake instead.
  if (batch.compression > CompressionCodec.ZSTD) {
    return reject(INVALID_RECORD, `Unknown compression type id: ${batch.compression}`);
  }

  // 3. LogValidator.validateBatch, for magic 2 batches from clients.
  if (batch.lastOffsetDelta < 0) {
    return reject(
      INVALID_RECORD,
      `Batch has an invalid offset range: [0, ${batch.lastOffsetDelta}]`,
    );
  }
  if (batch.recordCount <= 0) {
    return reject(INVALID_RECORD, `Invalid reported count for record batch: ${batch.recordCount}`);
  }
  if (batch.recordCount !== batch.lastOffsetDelta + 1) {
    return reject(
      INVALID_RECORD,
      `Inconsistent batch offset range [0, ${batch.lastOffsetDelta}] and count of records ${batch.recordCount}`,
    );
  }
  if (batch.isControl) {
    return reject(INVALID_RECORD, 'Clients are not allowed to write control records');
  }
  if (batch.producerId >= 0 && batch.baseSequence < 0) {
    return reject(
      INVALID_RECORD,
      `Invalid sequence number ${batch.baseSequence} in record batch with producerId ${batch.producerId}`,
    );
  }

  return {
    ok: true,
    recordSet: { batches: [batch], recordCount: batch.recordCount, sizeInBytes: batch.size },
  };
}

type Frame =
  { kind: 'batch'; size: number } | { kind: 'partial' } | { kind: 'corrupt'; message: string };

const PARTIAL: Frame = { kind: 'partial' };

/**
 * Frames the batch at `position` the way Kafka's ByteBufferLogInputStream does: a size field
 * below the smallest message or a magic outside 0..2 is corruption; too few bytes is a partial
 * batch.
 */
function frameAt(records: Buffer, position: number): Frame {
  const remaining = records.length - position;
  if (remaining < BATCH_LOG_OVERHEAD) return PARTIAL;
  const sizeField = records.readInt32BE(position + BATCH_LENGTH);
  if (sizeField < MIN_SIZE_FIELD) {
    return {
      kind: 'corrupt',
      message: `Record size ${sizeField} is less than the minimum record overhead (${MIN_SIZE_FIELD})`,
    };
  }
  if (remaining <= MAGIC) return PARTIAL;
  const magic = records.readInt8(position + MAGIC);
  if (magic < 0 || magic > MAGIC_V2) {
    return { kind: 'corrupt', message: `Invalid magic found in record: ${magic}` };
  }
  const size = sizeField + BATCH_LOG_OVERHEAD;
  return remaining < size ? PARTIAL : { kind: 'batch', size };
}

function reject(errorCode: number, message: string): RecordSetResult {
  return { ok: false, errorCode, message };
}
