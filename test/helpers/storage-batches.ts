/**
 * Valid Kafka v2 record batches for storage tests: uncompressed records with real varint
 * encoding and a correct CRC-32C, plus a decoder that checks them back. Reusable by anyone who
 * needs batches without a Kafka client.
 */
import {
  ATTRIBUTES,
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
  batchSizeAt,
  computeBatchCrc,
  readBaseOffset,
  readInt64,
} from '../../src/storage/batch-header.js';

export const DEFAULT_TIMESTAMP = 1_700_000_000_000;

export interface BatchSpec {
  /** Record values (strings are UTF-8), or how many generated values of `valueBytes` each. */
  records?: readonly (string | Buffer)[] | number;
  /** Size of each generated value. Default 16. */
  valueBytes?: number;
  /** Prefix of generated values, so batches can be told apart. Default "v". */
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

/** One valid v2 batch. */
export function makeBatch(spec: BatchSpec = {}): Buffer {
  const values = recordValues(spec);
  if (values.length === 0) throw new RangeError('a batch needs at least one record');
  const baseTimestamp = spec.baseTimestamp ?? DEFAULT_TIMESTAMP;
  const timestamps = spec.timestamps ?? values.map((_, i) => baseTimestamp + i);
  const first = timestamps[0];
  const records = values.map((value, i) => encodeRecord(i, timestamps[i] - first, value));
  const size = BATCH_HEADER_SIZE + records.reduce((sum, r) => sum + r.length, 0);
  const batch = Buffer.alloc(size);
  batch.writeBigInt64BE(BigInt(spec.baseOffset ?? 0), 0);
  batch.writeInt32BE(size - BATCH_LOG_OVERHEAD, BATCH_LENGTH);
  batch.writeInt32BE(0, PARTITION_LEADER_EPOCH);
  batch.writeInt8(2, MAGIC);
  batch.writeInt16BE(0, ATTRIBUTES);
  batch.writeInt32BE(values.length - 1, LAST_OFFSET_DELTA);
  batch.writeBigInt64BE(BigInt(first), BASE_TIMESTAMP);
  batch.writeBigInt64BE(BigInt(spec.maxTimestamp ?? Math.max(...timestamps)), MAX_TIMESTAMP);
  batch.writeBigInt64BE(-1n, PRODUCER_ID);
  batch.writeInt16BE(-1, PRODUCER_EPOCH);
  batch.writeInt32BE(-1, BASE_SEQUENCE);
  batch.writeInt32BE(values.length, RECORDS_COUNT);
  let pos = BATCH_HEADER_SIZE;
  for (const record of records) pos += record.copy(batch, pos);
  batch.writeUInt32BE(computeBatchCrc(batch, 0, size), CRC);
  return batch;
}

/** Several batches in one buffer, as a produce request carries them. */
export function makeBatches(specs: readonly BatchSpec[]): Buffer {
  return Buffer.concat(specs.map(makeBatch));
}

export interface DecodedBatch {
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  recordsCount: number;
  size: number;
  crcOk: boolean;
  values: string[];
}

/** Decodes a run of whole batches; throws on bad framing (a partial batch at the end included). */
export function decodeBatches(buf: Buffer): DecodedBatch[] {
  const out: DecodedBatch[] = [];
  for (let pos = 0; pos < buf.length;) {
    if (buf.length - pos < BATCH_HEADER_SIZE) throw new Error(`partial header at ${pos}`);
    const size = batchSizeAt(buf, pos);
    if (size < BATCH_HEADER_SIZE || pos + size > buf.length) {
      throw new Error(`bad batch size ${size} at ${pos}`);
    }
    if (buf[pos + MAGIC] !== 2) throw new Error(`bad magic at ${pos}`);
    const batch = buf.subarray(pos, pos + size);
    const baseOffset = readBaseOffset(batch, 0);
    const recordsCount = batch.readInt32BE(RECORDS_COUNT);
    out.push({
      baseOffset,
      lastOffset: baseOffset + batch.readInt32BE(LAST_OFFSET_DELTA),
      maxTimestamp: readInt64(batch, MAX_TIMESTAMP),
      recordsCount,
      size,
      crcOk: batch.readUInt32BE(CRC) === computeBatchCrc(batch, 0, size),
      values: decodeValues(batch, recordsCount),
    });
    pos += size;
  }
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

function recordValues(spec: BatchSpec): Buffer[] {
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

function encodeRecord(offsetDelta: number, timestampDelta: number, value: Buffer): Buffer {
  const body = Buffer.concat([
    Buffer.from([0]), // attributes
    varlong(timestampDelta),
    varlong(offsetDelta),
    varlong(-1), // null key
    varlong(value.length),
    value,
    varlong(0), // no headers
  ]);
  return Buffer.concat([varlong(body.length), body]);
}

function varlong(value: number): Buffer {
  let zigzag = (BigInt(value) << 1n) ^ (BigInt(value) >> 63n);
  const bytes: number[] = [];
  while (zigzag >= 0x80n) {
    bytes.push(Number(zigzag & 0x7fn) | 0x80);
    zigzag >>= 7n;
  }
  bytes.push(Number(zigzag));
  return Buffer.from(bytes);
}

function decodeValues(batch: Buffer, count: number): string[] {
  let pos = BATCH_HEADER_SIZE;
  const read = (): number => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = batch[pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
      shift += 7n;
    }
    return Number((result >> 1n) ^ -(result & 1n));
  };
  const values: string[] = [];
  for (let i = 0; i < count; i++) {
    read(); // length
    pos += 1; // attributes
    read(); // timestamp delta
    read(); // offset delta
    const keyLength = read();
    if (keyLength > 0) pos += keyLength;
    const valueLength = read();
    values.push(valueLength < 0 ? '' : batch.toString('utf8', pos, pos + valueLength));
    if (valueLength > 0) pos += valueLength;
    const headers = read();
    if (headers !== 0) throw new Error('test batches carry no headers');
  }
  return values;
}
