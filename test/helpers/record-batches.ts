/**
 * Record batches for tests. The records always come from the production writer
 * (encodeRecordBatch); this helper only adds what tests need on top of it:
 *   - makeBatch: valid batches with generated, recognisable values (storage tests);
 *   - buildBatch: batches whose header fields are set by hand, invalid ones included (validation
 *     and producer-state tests), with the records section sized exactly;
 *   - decodeBatches: a summary of each batch read back with the production reader.
 */
import {
  ATTRIBUTES,
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_SIZE,
  BATCH_LENGTH,
  BATCH_LOG_OVERHEAD,
  CRC,
  LAST_OFFSET_DELTA,
  MAGIC,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  RECORDS_COUNT,
  computeBatchCrc,
} from '../../src/storage/batch-header.js';
import { readBatchInfos } from '../../plugins/kafka/records/batch-info.js';
import {
  encodeRecordBatch,
  readBatchRecords,
  type NewRecord,
} from '../../plugins/kafka/records/record-batch-writer.js';

export const DEFAULT_TIMESTAMP = 1_700_000_000_000;

export interface RecordsSpec {
  /** Record values (strings are UTF-8), or how many generated values of `valueBytes` each. */
  records?: readonly (string | Buffer)[] | number;
  /** Size of each generated value. Default 16. */
  valueBytes?: number;
  /** Prefix of generated values ("<tag>-<index>:"), so batches can be told apart. Default "v". */
  tag?: string;
  /** Timestamp of the first record. */
  baseTimestamp?: number;
  /** Per-record timestamps; default: baseTimestamp + index. */
  timestamps?: readonly number[];
  /** Overrides the header's maxTimestamp (the store trusts the header). */
  maxTimestamp?: number;
  /** Written into the baseOffset field; the store overwrites it. */
  baseOffset?: number;
}

/** One valid v2 batch of null-key records with the given or generated values. */
export function makeBatch(spec: RecordsSpec = {}): Buffer {
  const values = recordValues(spec);
  if (values.length === 0) throw new RangeError('a batch needs at least one record');
  const base = spec.baseTimestamp ?? DEFAULT_TIMESTAMP;
  const timestamps = spec.timestamps ?? values.map((_, i) => base + i);
  const batch = encodeRecordBatch(
    values.map((value, i) => ({ key: null, value, timestamp: timestamps[i] })),
    { baseOffset: spec.baseOffset ?? 0 },
  );
  if (spec.maxTimestamp === undefined) return batch;
  batch.writeBigInt64BE(BigInt(spec.maxTimestamp), MAX_TIMESTAMP);
  return sealBatch(batch);
}

/** Several batches in one buffer, as a log read returns them. */
export function makeBatches(specs: readonly RecordsSpec[]): Buffer {
  return Buffer.concat(specs.map(makeBatch));
}

export interface HeaderSpec {
  baseOffset?: number;
  magic?: number;
  /** Sets the codec bits only: the records stay uncompressed. */
  compression?: number;
  transactional?: boolean;
  control?: boolean;
  /** Records in the batch and in its header; zero or less gives a header with no records. */
  recordCount?: number;
  /** Default recordCount - 1, as clients write it. */
  lastOffsetDelta?: number;
  baseTimestamp?: number;
  maxTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Exact bytes of the records after the header; default 10 per record. */
  payloadSize?: number;
}

/** A batch with real records whose header says what `spec` says, resealed with a valid CRC. */
export function buildBatch(spec: HeaderSpec = {}): Buffer {
  const recordCount = spec.recordCount ?? 1;
  const count = Math.max(recordCount, 0);
  const payloadSize = spec.payloadSize ?? 10 * count;
  const timestamp = spec.baseTimestamp ?? DEFAULT_TIMESTAMP;
  const records = count === 0 ? [] : recordsFilling(count, payloadSize, timestamp);
  const encoded = encodeRecordBatch(
    records.length ? records : [{ key: null, value: null, timestamp }],
    {
      baseOffset: spec.baseOffset ?? 0,
      producerId: spec.producerId,
      producerEpoch: spec.producerEpoch,
      baseSequence: spec.baseSequence,
    },
  );
  const batch = count === 0 ? withoutRecords(encoded, payloadSize) : encoded;
  if (batch.length !== BATCH_HEADER_SIZE + payloadSize) {
    throw new Error(`built ${batch.length - BATCH_HEADER_SIZE} record bytes, not ${payloadSize}`);
  }
  batch.writeInt8(spec.magic ?? 2, MAGIC);
  const attributes =
    (spec.compression ?? 0) |
    (spec.transactional ? ATTR_TRANSACTIONAL : 0) |
    (spec.control ? ATTR_CONTROL : 0);
  batch.writeInt16BE(attributes, ATTRIBUTES);
  batch.writeInt32BE(recordCount, RECORDS_COUNT);
  batch.writeInt32BE(spec.lastOffsetDelta ?? recordCount - 1, LAST_OFFSET_DELTA);
  if (spec.maxTimestamp !== undefined) {
    batch.writeBigInt64BE(BigInt(spec.maxTimestamp), MAX_TIMESTAMP);
  }
  return sealBatch(batch);
}

/** Recomputes the CRC after a test edits header fields in place. */
export function sealBatch(buf: Buffer): Buffer {
  buf.writeUInt32BE(computeBatchCrc(buf, 0, buf.length), CRC);
  return buf;
}

export interface DecodedBatch {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  /** The epoch of the owner that appended it. */
  partitionLeaderEpoch: number;
  recordsCount: number;
  size: number;
  crcOk: boolean;
  /** Values as UTF-8 ('' for null). */
  values: string[];
}

/** Decodes a run of whole batches; throws on bad framing (a partial batch at the end included). */
export function decodeBatches(buf: Buffer): DecodedBatch[] {
  const out: DecodedBatch[] = [];
  let end = 0;
  for (const info of readBatchInfos(buf)) {
    out.push({
      baseOffset: info.baseOffset,
      lastOffset: info.baseOffset + info.lastOffsetDelta,
      maxTimestamp: info.maxTimestamp,
      partitionLeaderEpoch: buf.readInt32BE(info.position + PARTITION_LEADER_EPOCH),
      recordsCount: info.recordCount,
      size: info.size,
      crcOk:
        buf.readUInt32BE(info.position + CRC) === computeBatchCrc(buf, info.position, info.size),
      values: [...readBatchRecords(buf, info)].map((r) => r.value?.toString('utf8') ?? ''),
    });
    end = info.position + info.size;
  }
  if (end !== buf.length) throw new Error(`${buf.length - end} bytes after the last whole batch`);
  return out;
}

/** Deterministic pseudo-random bytes, so a reader can recompute what a writer wrote. */
export function patternBytes(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = 0x61 + ((x >>> 0) % 26); // a-z, so values decode as text
  }
  return out;
}

function recordValues(spec: RecordsSpec): Buffer[] {
  const { records = 1 } = spec;
  if (typeof records !== 'number') {
    return records.map((r) => (typeof r === 'string' ? Buffer.from(r) : r));
  }
  const tag = spec.tag ?? 'v';
  const valueBytes = spec.valueBytes ?? 16;
  return Array.from({ length: records }, (_, i) => {
    const prefix = Buffer.from(`${tag}-${i}:`);
    return Buffer.concat([prefix, patternBytes(i + 1, Math.max(0, valueBytes - prefix.length))]);
  });
}

/** A header-only batch (no records) followed by `payloadSize` opaque bytes. */
function withoutRecords(encoded: Buffer, payloadSize: number): Buffer {
  const batch = Buffer.alloc(BATCH_HEADER_SIZE + payloadSize, 0x78);
  encoded.copy(batch, 0, 0, BATCH_HEADER_SIZE);
  batch.writeInt32BE(batch.length - BATCH_LOG_OVERHEAD, BATCH_LENGTH);
  return batch;
}

/**
 * `count` records (offset deltas 0.., one timestamp, null keys, no headers) taking exactly
 * `payloadSize` bytes: each gets an even share, and the last one absorbs the rest, using a short
 * key where a varint boundary makes its value alone unable to hit the size.
 */
function recordsFilling(count: number, payloadSize: number, timestamp: number): NewRecord[] {
  const share = Math.floor(payloadSize / count);
  const records: NewRecord[] = [];
  let used = 0;
  for (let i = 0; i < count; i++) {
    const target = i === count - 1 ? payloadSize - used : share;
    const fit = fitRecord(i, target);
    if (fit === null) throw new RangeError(`cannot fit record ${i} into ${target} bytes`);
    records.push({
      key: fit.key === null ? null : Buffer.alloc(fit.key, 0x6b),
      value: Buffer.alloc(fit.value, 0x76),
      timestamp,
    });
    used += target;
  }
  return records;
}

/** Key and value lengths (key null or short) giving a record of exactly `size` bytes. */
function fitRecord(
  offsetDelta: number,
  size: number,
): { key: number | null; value: number } | null {
  for (const key of [null, 1, 2, 3]) {
    // Size grows by 1 per value byte except at varint boundaries, so start near the answer.
    for (let value = Math.max(0, size - 16); value <= size; value++) {
      const s = recordSize(offsetDelta, key, value);
      if (s === size) return { key, value };
      if (s > size) break;
    }
  }
  return null;
}

/** Bytes of a record with timestampDelta 0 and no headers. */
function recordSize(offsetDelta: number, key: number | null, value: number): number {
  const body =
    1 +
    1 +
    varintSize(offsetDelta) +
    (key === null ? 1 : varintSize(key) + key) +
    varintSize(value) +
    value +
    1;
  return varintSize(body) + body;
}

function varintSize(v: number): number {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  let n = 1;
  while (u >= 0x80) {
    u >>>= 7;
    n++;
  }
  return n;
}
