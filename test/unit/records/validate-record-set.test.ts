import { describe, expect, it } from 'vitest';
import {
  BATCH_LENGTH,
  CRC,
  LAST_OFFSET_DELTA,
  MAGIC,
  RECORDS_COUNT,
} from '../../../src/storage/batch-header.js';
import { CompressionCodec } from '../../../plugins/kafka/records/batch-info.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  validateRecordSet,
} from '../../../plugins/kafka/records/validate-record-set.js';
import { buildBatch, sealBatch } from '../../helpers/record-batches.js';

const CORRUPT_MESSAGE = 2;
const MESSAGE_TOO_LARGE = 10;
const UNSUPPORTED_COMPRESSION_TYPE = 76;
const INVALID_RECORD = 87;

function errorCodeOf(records: Buffer, options?: Parameters<typeof validateRecordSet>[1]): number {
  const result = validateRecordSet(records, options);
  return result.ok ? 0 : result.errorCode;
}

/** A magic v1 message (the pre-0.11 format): offset, size, crc, magic, attributes, timestamp, key, value. */
function legacyMessage(magic: 0 | 1): Buffer {
  const value = Buffer.from('hello');
  const body = Buffer.alloc(4 + 1 + 1 + (magic === 1 ? 8 : 0) + 4 + 4 + value.length);
  let at = 4;
  body.writeInt8(magic, at++);
  body.writeInt8(0, at++);
  if (magic === 1) at = body.writeBigInt64BE(1_700_000_000_000n, at);
  at = body.writeInt32BE(-1, at);
  at = body.writeInt32BE(value.length, at);
  value.copy(body, at);
  const head = Buffer.alloc(12);
  head.writeInt32BE(body.length, 8);
  return Buffer.concat([head, body]);
}

describe('validateRecordSet', () => {
  it('describes a valid idempotent batch from its header', () => {
    const records = buildBatch({
      recordCount: 3,
      maxTimestamp: 1_700_000_000_500,
      producerId: 42,
      producerEpoch: 7,
      baseSequence: 10,
      transactional: true,
      compression: CompressionCodec.LZ4,
    });
    const result = validateRecordSet(records);
    expect(result).toEqual({
      ok: true,
      recordSet: {
        batches: [
          {
            position: 0,
            size: records.length,
            baseOffset: 0,
            lastOffsetDelta: 2,
            recordCount: 3,
            maxTimestamp: 1_700_000_000_500,
            producerId: 42,
            producerEpoch: 7,
            baseSequence: 10,
            isTransactional: true,
            isControl: false,
            compression: CompressionCodec.LZ4,
          },
        ],
        recordCount: 3,
        sizeInBytes: records.length,
      },
    });
  });

  it('accepts a plain producer batch (producerId -1, sequence -1)', () => {
    expect(errorCodeOf(buildBatch({ recordCount: 5 }))).toBe(0);
  });

  describe('framing', () => {
    it('refuses an empty record set with INVALID_RECORD (at least one batch)', () => {
      expect(errorCodeOf(Buffer.alloc(0))).toBe(INVALID_RECORD);
    });

    it('refuses a lone partial batch with INVALID_RECORD (no whole batch)', () => {
      const batch = buildBatch({ recordCount: 2 });
      expect(errorCodeOf(batch.subarray(0, 11))).toBe(INVALID_RECORD);
      expect(errorCodeOf(batch.subarray(0, 40))).toBe(INVALID_RECORD);
      expect(errorCodeOf(batch.subarray(0, batch.length - 1))).toBe(INVALID_RECORD);
    });

    it('refuses a size field below the smallest message with CORRUPT_MESSAGE', () => {
      const batch = buildBatch();
      batch.writeInt32BE(13, BATCH_LENGTH);
      expect(errorCodeOf(batch)).toBe(CORRUPT_MESSAGE);
      batch.writeInt32BE(-5, BATCH_LENGTH);
      expect(errorCodeOf(batch)).toBe(CORRUPT_MESSAGE);
    });

    it('refuses a magic outside 0..2 with CORRUPT_MESSAGE', () => {
      const batch = buildBatch();
      batch.writeInt8(3, MAGIC);
      expect(errorCodeOf(batch)).toBe(CORRUPT_MESSAGE);
      batch.writeInt8(-1, MAGIC);
      expect(errorCodeOf(batch)).toBe(CORRUPT_MESSAGE);
    });

    it('refuses a magic 2 batch shorter than its header with CORRUPT_MESSAGE', () => {
      const batch = buildBatch().subarray(0, 40);
      batch.writeInt32BE(40 - 12, BATCH_LENGTH);
      expect(errorCodeOf(batch)).toBe(CORRUPT_MESSAGE);
    });

    it('refuses bytes after the batch with INVALID_RECORD', () => {
      const batch = buildBatch();
      expect(errorCodeOf(Buffer.concat([batch, Buffer.alloc(5)]))).toBe(INVALID_RECORD);
      expect(errorCodeOf(Buffer.concat([batch, batch.subarray(0, 30)]))).toBe(INVALID_RECORD);
    });

    it('answers CORRUPT_MESSAGE when what follows the batch has a corrupt frame', () => {
      const second = buildBatch();
      second.writeInt8(9, MAGIC);
      expect(errorCodeOf(Buffer.concat([buildBatch(), second]))).toBe(CORRUPT_MESSAGE);
    });
  });

  describe('Produce v3+ rules (ProduceRequest.validateRecords)', () => {
    it('refuses magic 0 and 1 message sets with INVALID_RECORD', () => {
      expect(errorCodeOf(legacyMessage(0))).toBe(INVALID_RECORD);
      expect(errorCodeOf(legacyMessage(1))).toBe(INVALID_RECORD);
    });

    it('refuses more than one batch with INVALID_RECORD', () => {
      const records = Buffer.concat([buildBatch(), buildBatch()]);
      const result = validateRecordSet(records);
      expect(result).toMatchObject({ ok: false, errorCode: INVALID_RECORD });
      expect(result.ok ? '' : result.message).toMatch(/exactly one record batch/);
    });

    it('refuses zstd below Produce v7 with UNSUPPORTED_COMPRESSION_TYPE', () => {
      const zstd = buildBatch({ compression: CompressionCodec.ZSTD });
      expect(errorCodeOf(zstd, { produceVersion: 6 })).toBe(UNSUPPORTED_COMPRESSION_TYPE);
      expect(errorCodeOf(zstd, { produceVersion: 7 })).toBe(0);
      expect(errorCodeOf(zstd)).toBe(0);
      expect(
        errorCodeOf(buildBatch({ compression: CompressionCodec.GZIP }), { produceVersion: 3 }),
      ).toBe(0);
    });
  });

  describe('log append rules (UnifiedLog.analyzeAndValidateRecords)', () => {
    it('refuses a base offset other than 0 with INVALID_RECORD', () => {
      expect(errorCodeOf(buildBatch({ baseOffset: 5 }))).toBe(INVALID_RECORD);
    });

    it('refuses a batch larger than max.message.bytes with MESSAGE_TOO_LARGE', () => {
      const batch = buildBatch({ payloadSize: 1000 });
      expect(errorCodeOf(batch, { maxMessageBytes: batch.length })).toBe(0);
      expect(errorCodeOf(batch, { maxMessageBytes: batch.length - 1 })).toBe(MESSAGE_TOO_LARGE);
      const big = buildBatch({ payloadSize: DEFAULT_MAX_MESSAGE_BYTES });
      expect(errorCodeOf(big)).toBe(MESSAGE_TOO_LARGE);
    });

    it('refuses a CRC mismatch with CORRUPT_MESSAGE', () => {
      const batch = buildBatch({ recordCount: 4 });
      batch[batch.length - 1] ^= 0x01;
      expect(errorCodeOf(batch)).toBe(CORRUPT_MESSAGE);
      const badCrc = buildBatch();
      badCrc.writeUInt32BE((badCrc.readUInt32BE(CRC) + 1) >>> 0, CRC);
      expect(errorCodeOf(badCrc)).toBe(CORRUPT_MESSAGE);
    });

    it('checks the CRC over the header fields too', () => {
      const batch = buildBatch({ recordCount: 2 });
      batch.writeInt32BE(5, RECORDS_COUNT); // edited without resealing
      expect(errorCodeOf(batch)).toBe(CORRUPT_MESSAGE);
    });

    it('refuses an unassigned compression codec with INVALID_RECORD', () => {
      expect(errorCodeOf(buildBatch({ compression: 5 }))).toBe(INVALID_RECORD);
      expect(errorCodeOf(buildBatch({ compression: 7 }))).toBe(INVALID_RECORD);
    });
  });

  describe('batch rules for clients (LogValidator.validateBatch)', () => {
    it('refuses a negative lastOffsetDelta with INVALID_RECORD', () => {
      expect(errorCodeOf(buildBatch({ recordCount: 1, lastOffsetDelta: -1 }))).toBe(INVALID_RECORD);
    });

    it('refuses a record count of zero or less with INVALID_RECORD', () => {
      expect(errorCodeOf(buildBatch({ recordCount: 0, lastOffsetDelta: 0 }))).toBe(INVALID_RECORD);
      expect(errorCodeOf(buildBatch({ recordCount: -3, lastOffsetDelta: 0 }))).toBe(INVALID_RECORD);
    });

    it('refuses a count that disagrees with lastOffsetDelta with INVALID_RECORD', () => {
      expect(errorCodeOf(buildBatch({ recordCount: 3, lastOffsetDelta: 1 }))).toBe(INVALID_RECORD);
      expect(errorCodeOf(buildBatch({ recordCount: 3, lastOffsetDelta: 3 }))).toBe(INVALID_RECORD);
      const edited = buildBatch({ recordCount: 3 });
      edited.writeInt32BE(5, LAST_OFFSET_DELTA);
      expect(errorCodeOf(sealBatch(edited))).toBe(INVALID_RECORD);
    });

    it('refuses control batches from clients with INVALID_RECORD', () => {
      const marker = buildBatch({
        control: true,
        transactional: true,
        producerId: 1,
        producerEpoch: 0,
        baseSequence: 0,
      });
      const result = validateRecordSet(marker);
      expect(result).toMatchObject({ ok: false, errorCode: INVALID_RECORD });
      expect(result.ok ? '' : result.message).toMatch(/control records/);
    });

    it('refuses an idempotent batch with a negative sequence with INVALID_RECORD', () => {
      expect(errorCodeOf(buildBatch({ producerId: 3, producerEpoch: 0, baseSequence: -1 }))).toBe(
        INVALID_RECORD,
      );
      expect(errorCodeOf(buildBatch({ producerId: 3, producerEpoch: 0, baseSequence: 0 }))).toBe(0);
    });
  });
});
