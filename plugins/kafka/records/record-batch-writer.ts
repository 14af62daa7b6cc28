/**
 * Kafka v2 records: a writer of uncompressed magic-2 batches with real records, and a reader of
 * the records in whole batches. The broker writes and replays __consumer_offsets with these, so
 * both follow Kafka's format exactly (DefaultRecordBatch / DefaultRecord):
 *
 *   record := length varint, attributes int8 (unused, 0), timestampDelta varlong,
 *             offsetDelta varint, key (varint length, -1 null, bytes),
 *             value (the same), header count varint, headers
 *   header := key (varint length, UTF-8, never null), value (varint length, -1 null, bytes)
 *
 * The writer sizes the batch first and fills one buffer, so each byte is written once. The reader
 * returns keys, values and header values as views into the input (or into the decompressed
 * records of a gzip batch), never copies.
 */
import { gunzipSync } from 'node:zlib';
import { batchHeader } from '../../../src/api/index.js';
import { ProtocolDecodeError, Reader } from '../protocol/reader.js';
import { CompressionCodec, NO_PRODUCER_ID, readBatchInfos, type BatchInfo } from './batch-info.js';

const {
  ATTR_TIMESTAMP_TYPE,
  ATTRIBUTES,
  BASE_OFFSET,
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
  readInt64,
} = batchHeader;

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** A record to write. `timestamp` is its create time in ms. */
export interface NewRecord {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers?: readonly RecordHeader[];
}

export interface EncodeBatchOptions {
  /** Default -1: a producer that is neither idempotent nor transactional. */
  producerId?: number;
  /** Default -1. */
  producerEpoch?: number;
  /** Sequence of the first record; default -1. */
  baseSequence?: number;
  /** Default 0: the log assigns offsets on append. */
  baseOffset?: number;
}

/** A record read back from a batch. */
export interface ReadRecord {
  offset: number;
  /** Create time, or the batch's max timestamp when the batch has log-append time. */
  timestamp: number;
  /** Views into the input: copy them to keep them beyond the input's lifetime. */
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
  /** The header of the batch holding the record (shared by its records): control, producer... */
  batch: BatchInfo;
}

const MAGIC_V2 = 2;
/** RecordBatch.NO_PARTITION_LEADER_EPOCH: the log sets the epoch on append. */
const NO_PARTITION_LEADER_EPOCH = -1;
const MAX_BATCH_SIZE = 0x7fffffff;
const TWO_POW_32 = 4294967296;
const NO_HEADERS: readonly RecordHeader[] = [];

const CODEC_NAMES: Record<number, string> = {
  [CompressionCodec.GZIP]: 'gzip',
  [CompressionCodec.SNAPPY]: 'snappy',
  [CompressionCodec.LZ4]: 'lz4',
  [CompressionCodec.ZSTD]: 'zstd',
};

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/**
 * One uncompressed magic-2 batch holding `records`, offset deltas 0..n-1, CreateTime timestamps
 * (the first record's as baseTimestamp, the largest as maxTimestamp) and a CRC-32C.
 */
export function encodeRecordBatch(
  records: readonly NewRecord[],
  options: EncodeBatchOptions = {},
): Buffer {
  const count = records.length;
  if (count === 0) throw new RangeError('a record batch needs at least one record');
  const producerId = checkInt(
    options.producerId ?? NO_PRODUCER_ID,
    'producerId',
    -(2 ** 53),
    2 ** 53,
  );
  const producerEpoch = checkInt(options.producerEpoch ?? -1, 'producerEpoch', -0x8000, 0x7fff);
  const baseSequence = checkInt(
    options.baseSequence ?? -1,
    'baseSequence',
    -0x80000000,
    0x7fffffff,
  );
  const baseOffset = checkInt(options.baseOffset ?? 0, 'baseOffset', 0, 2 ** 53);

  // Pass 1: sizes. Header key lengths are kept so that pass 2 need not measure them again.
  const baseTimestamp = checkInt(records[0].timestamp, 'timestamp', -(2 ** 52), 2 ** 52);
  let maxTimestamp = baseTimestamp;
  const bodySizes = new Array<number>(count);
  const headerKeyLengths: number[] = [];
  let size = BATCH_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    const r = records[i];
    const timestamp = checkInt(r.timestamp, 'timestamp', -(2 ** 52), 2 ** 52);
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    let body =
      1 +
      varlongSize(timestamp - baseTimestamp) +
      varintSize(i) +
      bytesSize(r.key) +
      bytesSize(r.value);
    const headers = r.headers ?? NO_HEADERS;
    body += varintSize(headers.length);
    for (let h = 0; h < headers.length; h++) {
      const header = headers[h];
      if (typeof header.key !== 'string')
        throw new TypeError('a record header key must be a string');
      const keyLength = Buffer.byteLength(header.key, 'utf8');
      headerKeyLengths.push(keyLength);
      body += varintSize(keyLength) + keyLength + bytesSize(header.value);
    }
    bodySizes[i] = body;
    size += varintSize(body) + body;
  }
  if (size > MAX_BATCH_SIZE) throw new RangeError(`record batch of ${size} bytes is too large`);

  // Pass 2: the bytes.
  const buf = Buffer.allocUnsafe(size);
  writeInt64(buf, BASE_OFFSET, baseOffset);
  writeInt32(buf, BATCH_LENGTH, size - BATCH_LOG_OVERHEAD);
  writeInt32(buf, PARTITION_LEADER_EPOCH, NO_PARTITION_LEADER_EPOCH);
  buf[MAGIC] = MAGIC_V2;
  buf[ATTRIBUTES] = 0; // no compression, CreateTime, not transactional, not control
  buf[ATTRIBUTES + 1] = 0;
  writeInt32(buf, LAST_OFFSET_DELTA, count - 1);
  writeInt64(buf, BASE_TIMESTAMP, baseTimestamp);
  writeInt64(buf, MAX_TIMESTAMP, maxTimestamp);
  writeInt64(buf, PRODUCER_ID, producerId);
  buf[PRODUCER_EPOCH] = producerEpoch >> 8;
  buf[PRODUCER_EPOCH + 1] = producerEpoch;
  writeInt32(buf, BASE_SEQUENCE, baseSequence);
  writeInt32(buf, RECORDS_COUNT, count);

  let pos = BATCH_HEADER_SIZE;
  let keyIndex = 0;
  for (let i = 0; i < count; i++) {
    const r = records[i];
    pos = writeVarint(buf, pos, bodySizes[i]);
    buf[pos++] = 0; // record attributes
    pos = writeVarlong(buf, pos, r.timestamp - baseTimestamp);
    pos = writeVarint(buf, pos, i);
    pos = writeBytes(buf, pos, r.key);
    pos = writeBytes(buf, pos, r.value);
    const headers = r.headers ?? NO_HEADERS;
    pos = writeVarint(buf, pos, headers.length);
    for (let h = 0; h < headers.length; h++) {
      const header = headers[h];
      const keyLength = headerKeyLengths[keyIndex++];
      pos = writeVarint(buf, pos, keyLength);
      pos += buf.write(header.key, pos, keyLength, 'utf8');
      pos = writeBytes(buf, pos, header.value);
    }
  }
  if (pos !== size) throw new Error(`internal error: wrote ${pos} of ${size} batch bytes`);
  writeInt32(buf, CRC, computeBatchCrc(buf, 0, size));
  return buf;
}

function checkInt(v: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} ${v} is not an integer in [${min}, ${max}]`);
  }
  return v;
}

/** Bytes of a zigzag varint (int32). */
function varintSize(v: number): number {
  const u = ((v << 1) ^ (v >> 31)) >>> 0;
  if (u < 0x80) return 1;
  if (u < 0x4000) return 2;
  if (u < 0x200000) return 3;
  if (u < 0x10000000) return 4;
  return 5;
}

/**
 * Bytes of a zigzag varlong. With m = |v| for v >= 0 and -v - 1 below, the zigzag value is
 * 2m + sign, which needs k 7-bit groups exactly when m < 2^(7k - 1); no product can overflow.
 */
function varlongSize(v: number): number {
  const m = v < 0 ? -v - 1 : v;
  let size = 1;
  for (let limit = 64; m >= limit && size < 10; limit *= 128) size++;
  return size;
}

function bytesSize(b: Buffer | null): number {
  return b === null ? 1 : varintSize(b.length) + b.length;
}

function writeInt32(buf: Buffer, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = v >>> 16;
  buf[at + 2] = v >>> 8;
  buf[at + 3] = v;
}

/** A safe integer as int64: hi * 2^32 + lo is exact, so no BigInt is needed. */
function writeInt64(buf: Buffer, at: number, v: number): void {
  const hi = Math.floor(v / TWO_POW_32);
  writeInt32(buf, at, hi);
  writeInt32(buf, at + 4, v - hi * TWO_POW_32);
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  let u = ((v << 1) ^ (v >> 31)) >>> 0;
  while (u >= 0x80) {
    buf[pos++] = (u & 0x7f) | 0x80;
    u >>>= 7;
  }
  buf[pos++] = u;
  return pos;
}

/** Zigzag varlong of a safe integer, in exact arithmetic (see varlongSize). */
function writeVarlong(buf: Buffer, pos: number, v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) return writeVarint(buf, pos, v);
  const negative = v < 0;
  let m = negative ? -v - 1 : v;
  let byte = (m % 64) * 2 + (negative ? 1 : 0);
  m = Math.floor(m / 64);
  while (m > 0) {
    buf[pos++] = byte | 0x80;
    byte = m % 128;
    m = Math.floor(m / 128);
  }
  buf[pos++] = byte;
  return pos;
}

function writeBytes(buf: Buffer, pos: number, b: Buffer | null): number {
  if (b === null) {
    buf[pos] = 1; // zigzag(-1)
    return pos + 1;
  }
  pos = writeVarint(buf, pos, b.length);
  return pos + b.copy(buf, pos);
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/**
 * The records of the whole batches in `batches`, in order. A partial batch at the end is
 * skipped, as Kafka's batch iterator does (a fetch cut by max bytes ends with one). Control
 * batches are returned too: check `record.batch.isControl`. Throws on a batch that is not magic
 * 2, compressed with a codec other than gzip, or malformed.
 */
export function* readRecords(batches: Buffer): Generator<ReadRecord> {
  for (const batch of readBatchInfos(batches)) yield* readBatchRecords(batches, batch);
}

/** The records of one whole batch, whose header `readBatchInfo(buf, ...)` gave. */
export function* readBatchRecords(buf: Buffer, batch: BatchInfo): Generator<ReadRecord> {
  const at = batch.position;
  const magic = buf.readInt8(at + MAGIC);
  if (magic !== MAGIC_V2) {
    throw new ProtocolDecodeError(
      `batch at offset ${batch.baseOffset} has magic ${magic}; only magic 2 records can be read`,
    );
  }
  if (batch.recordCount < 0) {
    throw new ProtocolDecodeError(
      `batch at offset ${batch.baseOffset} claims ${batch.recordCount} records`,
    );
  }
  let section = buf.subarray(at + BATCH_HEADER_SIZE, at + batch.size);
  if (batch.compression === CompressionCodec.GZIP) {
    section = gunzipSync(section);
  } else if (batch.compression !== CompressionCodec.NONE) {
    const codec = CODEC_NAMES[batch.compression] ?? `unknown codec ${batch.compression}`;
    throw new ProtocolDecodeError(
      `batch at offset ${batch.baseOffset} is compressed with ${codec}; only uncompressed and gzip batches can be read`,
    );
  }
  const logAppendTime = (buf.readInt16BE(at + ATTRIBUTES) & ATTR_TIMESTAMP_TYPE) !== 0;
  const baseTimestamp = readInt64(buf, at + BASE_TIMESTAMP);
  const r = new Reader(section);
  for (let i = 0; i < batch.recordCount; i++) {
    const length = r.varint();
    if (length < 0 || length > r.remaining) {
      throw new ProtocolDecodeError(
        `record ${i} of the batch at offset ${batch.baseOffset} claims ${length} bytes, ${r.remaining} left`,
      );
    }
    const end = r.offset + length;
    r.skip(1); // attributes: none defined
    const timestampDelta = r.varlong();
    const offsetDelta = r.varint();
    const key = readNullableBytes(r);
    const value = readNullableBytes(r);
    const headerCount = r.varint();
    if (headerCount < 0 || headerCount > end - r.offset) {
      throw new ProtocolDecodeError(`record ${i} claims ${headerCount} headers`);
    }
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const keyLength = r.varint();
      if (keyLength < 0) throw new ProtocolDecodeError('null or negative record header key');
      const keyAt = r.offset;
      r.skip(keyLength);
      headers.push({
        key: section.toString('utf8', keyAt, keyAt + keyLength),
        value: readNullableBytes(r),
      });
    }
    if (r.offset !== end) {
      throw new ProtocolDecodeError(
        `record ${i} of the batch at offset ${batch.baseOffset} is ${length} bytes but its fields take ${r.offset - end + length}`,
      );
    }
    yield {
      offset: batch.baseOffset + offsetDelta,
      timestamp: logAppendTime ? batch.maxTimestamp : baseTimestamp + timestampDelta,
      key,
      value,
      headers,
      batch,
    };
  }
  if (r.remaining !== 0) {
    throw new ProtocolDecodeError(
      `batch at offset ${batch.baseOffset} has ${r.remaining} bytes after its ${batch.recordCount} records`,
    );
  }
}

function readNullableBytes(r: Reader): Buffer | null {
  const length = r.varint();
  if (length < 0) {
    if (length !== -1) throw new ProtocolDecodeError(`negative length ${length}`);
    return null;
  }
  const at = r.offset;
  r.skip(length);
  return r.buf.subarray(at, at + length);
}
