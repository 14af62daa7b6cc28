import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CompressionCodec,
  encodeRecordBatch,
  readBatchInfos,
  readRecords,
  validateRecordSet,
  type NewRecord,
  type ReadRecord,
} from '../../../plugins/kafka/records/index.js';
import { ProtocolDecodeError } from '../../../plugins/kafka/protocol/index.js';
import {
  ATTRIBUTES,
  BASE_SEQUENCE,
  BASE_TIMESTAMP,
  CRC,
  LAST_OFFSET_DELTA,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORDS_COUNT,
  readInt64,
} from '../../../src/storage/batch-header.js';

const load = createRequire(import.meta.url);

interface KafkajsDecoder {
  buffer: Buffer;
}
interface KafkajsRecord {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | null | (Buffer | null)[]>;
  isControlRecord: boolean;
}
interface KafkajsBatch {
  firstOffset: string;
  lastOffsetDelta: number;
  firstTimestamp: string;
  maxTimestamp: string;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  partitionLeaderEpoch: number;
  records: KafkajsRecord[];
}
const KafkajsDecoder = load('kafkajs/src/protocol/decoder.js') as new (
  buf: Buffer,
) => KafkajsDecoder;
const decodeKafkajsBatch = load('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (
  d: KafkajsDecoder,
) => Promise<KafkajsBatch>;
const kafkajsCrc32c = load('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (
  b: Buffer,
) => number;
const { RecordBatch: kafkajsRecordBatch } = load(
  'kafkajs/src/protocol/recordBatch/v0/index.js',
) as {
  RecordBatch: (args: {
    compression?: number;
    firstOffset?: unknown;
    firstTimestamp: number;
    maxTimestamp: number;
    lastOffsetDelta: number;
    records: unknown[];
  }) => Promise<{ buffer: Buffer }>;
};
const kafkajsRecord = load('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (args: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer>;
}) => unknown;

const T0 = 1_700_000_000_000;
const b = (s: string): Buffer => Buffer.from(s);

/** A fresh copy of each read record without the batch reference, for comparisons. */
function plain(records: Iterable<ReadRecord>) {
  return [...records].map(({ offset, timestamp, key, value, headers }) => ({
    offset,
    timestamp,
    key,
    value,
    headers,
  }));
}

const sample: NewRecord[] = [
  { key: b('k0'), value: b('v0'), timestamp: T0 + 5 },
  { key: null, value: b('no key'), timestamp: T0 },
  {
    key: b('k2'),
    value: null,
    timestamp: T0 + 900,
    headers: [
      { key: 'trace', value: b('abc') },
      { key: 'ünï', value: null },
      { key: '', value: Buffer.alloc(0) },
    ],
  },
  { key: Buffer.alloc(0), value: Buffer.alloc(300, 7), timestamp: T0 - 10_000 },
];

describe('encodeRecordBatch', () => {
  it('writes the header Kafka expects', () => {
    const batch = encodeRecordBatch(sample, {
      producerId: 77,
      producerEpoch: 3,
      baseSequence: 12,
      baseOffset: 40,
    });
    expect(batch.readBigInt64BE(0)).toBe(40n);
    expect(batch.readInt32BE(8)).toBe(batch.length - 12);
    expect(batch.readInt32BE(PARTITION_LEADER_EPOCH)).toBe(-1);
    expect(batch[16]).toBe(2);
    expect(batch.readInt16BE(ATTRIBUTES)).toBe(0);
    expect(batch.readInt32BE(LAST_OFFSET_DELTA)).toBe(3);
    expect(readInt64(batch, BASE_TIMESTAMP)).toBe(T0 + 5);
    expect(readInt64(batch, MAX_TIMESTAMP)).toBe(T0 + 900);
    expect(readInt64(batch, PRODUCER_ID)).toBe(77);
    expect(batch.readInt16BE(PRODUCER_EPOCH)).toBe(3);
    expect(batch.readInt32BE(BASE_SEQUENCE)).toBe(12);
    expect(batch.readInt32BE(RECORDS_COUNT)).toBe(4);
    // CRC-32C checked with kafkajs's own implementation, not ours.
    expect(batch.readUInt32BE(CRC)).toBe(kafkajsCrc32c(batch.subarray(ATTRIBUTES)));
  });

  it('defaults to a plain producer and base offset 0', () => {
    const batch = encodeRecordBatch([{ key: null, value: b('x'), timestamp: T0 }]);
    expect(batch.readBigInt64BE(0)).toBe(0n);
    expect(readInt64(batch, PRODUCER_ID)).toBe(-1);
    expect(batch.readInt16BE(PRODUCER_EPOCH)).toBe(-1);
    expect(batch.readInt32BE(BASE_SEQUENCE)).toBe(-1);
  });

  it('writes one record byte for byte as the v2 format lays it out', () => {
    const batch = encodeRecordBatch([
      { key: b('k'), value: b('vv'), timestamp: T0, headers: [{ key: 'h', value: null }] },
    ]);
    // length 12, attributes 0, timestampDelta 0, offsetDelta 0, key len 1 "k", value len 2 "vv",
    // 1 header: key len 1 "h", value null (-1).
    expect(batch.subarray(61).toString('hex')).toBe(
      '18' + '00' + '00' + '00' + '026b' + '047676' + '02' + '0268' + '01',
    );
  });

  it('passes validateRecordSet as a produced batch', () => {
    const batch = encodeRecordBatch(sample, { producerId: 5, producerEpoch: 0, baseSequence: 0 });
    const result = validateRecordSet(batch);
    expect(result).toMatchObject({
      ok: true,
      recordSet: { recordCount: 4, sizeInBytes: batch.length },
    });
  });

  it('refuses what it cannot write', () => {
    expect(() => encodeRecordBatch([])).toThrow(RangeError);
    expect(() => encodeRecordBatch([{ key: null, value: null, timestamp: 1.5 }])).toThrow(
      RangeError,
    );
    expect(() =>
      encodeRecordBatch([{ key: null, value: null, timestamp: 0 }], { producerEpoch: 40_000 }),
    ).toThrow(RangeError);
  });
});

describe('readRecords', () => {
  it('round-trips keys, values, headers, timestamps and offsets', () => {
    const batch = encodeRecordBatch(sample, { baseOffset: 100 });
    expect(plain(readRecords(batch))).toEqual(
      sample.map((r, i) => ({
        offset: 100 + i,
        timestamp: r.timestamp,
        key: r.key,
        value: r.value,
        headers: r.headers ?? [],
      })),
    );
  });

  it('returns views into the input, not copies', () => {
    const batch = encodeRecordBatch(sample);
    const [first] = readRecords(batch);
    expect(first.value?.buffer).toBe(batch.buffer);
    batch[batch.indexOf('v0')] = 0x56;
    expect(first.value?.toString()).toBe('V0');
  });

  it('reads several batches and skips a partial one at the end', () => {
    const a = encodeRecordBatch([{ key: null, value: b('a'), timestamp: T0 }], { baseOffset: 0 });
    const c = encodeRecordBatch(
      [
        { key: null, value: b('b'), timestamp: T0 },
        { key: null, value: b('c'), timestamp: T0 },
      ],
      { baseOffset: 1 },
    );
    const all = Buffer.concat([a, c, c.subarray(0, c.length - 3)]);
    expect([...readRecords(all)].map((r) => [r.offset, r.value?.toString()])).toEqual([
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
    ]);
    expect([...readRecords(Buffer.alloc(0))]).toEqual([]);
  });

  it('gives each record its batch header', () => {
    const batch = encodeRecordBatch(sample, { producerId: 9, producerEpoch: 1, baseSequence: 0 });
    const records = [...readRecords(batch)];
    expect(records[0].batch).toMatchObject({ producerId: 9, isControl: false, recordCount: 4 });
    expect(records[3].batch).toBe(records[0].batch);
  });

  it('uses the max timestamp for every record of a log-append-time batch', () => {
    const batch = encodeRecordBatch(sample);
    batch.writeInt16BE(0x08, ATTRIBUTES);
    expect([...readRecords(batch)].map((r) => r.timestamp)).toEqual([
      T0 + 900,
      T0 + 900,
      T0 + 900,
      T0 + 900,
    ]);
  });

  it('reads a gzip batch written by kafkajs', async () => {
    const records = [
      kafkajsRecord({ offsetDelta: 0, timestampDelta: 0, key: b('k'), value: b('gz-0') }),
      kafkajsRecord({
        offsetDelta: 1,
        timestampDelta: 7,
        key: null,
        value: b('gz-1'),
        headers: { h: b('x') },
      }),
    ];
    const { buffer } = await kafkajsRecordBatch({
      compression: CompressionCodec.GZIP,
      firstTimestamp: T0,
      maxTimestamp: T0 + 7,
      lastOffsetDelta: 1,
      records,
    });
    expect(plain(readRecords(buffer))).toEqual([
      { offset: 0, timestamp: T0, key: b('k'), value: b('gz-0'), headers: [] },
      {
        offset: 1,
        timestamp: T0 + 7,
        key: null,
        value: b('gz-1'),
        headers: [{ key: 'h', value: b('x') }],
      },
    ]);
  });

  it('refuses other codecs and bad magic with a clear error', () => {
    const batch = encodeRecordBatch(sample);
    for (const [codec, name] of [
      [CompressionCodec.SNAPPY, 'snappy'],
      [CompressionCodec.LZ4, 'lz4'],
      [CompressionCodec.ZSTD, 'zstd'],
    ] as const) {
      const copy = Buffer.from(batch);
      copy.writeInt16BE(codec, ATTRIBUTES);
      expect(() => [...readRecords(copy)]).toThrow(`compressed with ${name}`);
    }
    const old = Buffer.from(batch);
    old[16] = 1;
    expect(() => [...readRecords(old)]).toThrow('magic 1');
  });

  it('refuses malformed records instead of reading past them', () => {
    const batch = encodeRecordBatch([{ key: b('key'), value: b('value'), timestamp: T0 }]);
    const lying = Buffer.from(batch);
    lying[61] = 0x7e; // record length 63, more than is left
    expect(() => [...readRecords(lying)]).toThrow(ProtocolDecodeError);
    const extraCount = Buffer.from(batch);
    extraCount.writeInt32BE(2, RECORDS_COUNT);
    expect(() => [...readRecords(extraCount)]).toThrow(ProtocolDecodeError);
    const fewer = encodeRecordBatch([
      { key: null, value: b('a'), timestamp: T0 },
      { key: null, value: b('b'), timestamp: T0 },
    ]);
    fewer.writeInt32BE(1, RECORDS_COUNT);
    expect(() => [...readRecords(fewer)]).toThrow('after its 1 records');
  });
});

describe('kafkajs decodes our batches', () => {
  const decode = (batch: Buffer) => decodeKafkajsBatch(new KafkajsDecoder(batch));

  it('with keys, values, headers, timestamps and offsets intact', async () => {
    const batch = encodeRecordBatch(sample, {
      baseOffset: 1000,
      producerId: 4,
      producerEpoch: 2,
      baseSequence: 30,
    });
    const decoded = await decode(batch);
    expect(decoded).toMatchObject({
      firstOffset: '1000',
      lastOffsetDelta: 3,
      firstTimestamp: String(T0 + 5),
      maxTimestamp: String(T0 + 900),
      producerId: '4',
      producerEpoch: 2,
      firstSequence: 30,
      partitionLeaderEpoch: -1,
    });
    expect(
      decoded.records.map((r) => ({
        offset: r.offset,
        timestamp: r.timestamp,
        key: r.key,
        value: r.value,
        headers: r.headers,
      })),
    ).toEqual([
      { offset: '1000', timestamp: String(T0 + 5), key: b('k0'), value: b('v0'), headers: {} },
      { offset: '1001', timestamp: String(T0), key: null, value: b('no key'), headers: {} },
      {
        offset: '1002',
        timestamp: String(T0 + 900),
        key: b('k2'),
        value: null,
        headers: { trace: b('abc'), ünï: null, '': Buffer.alloc(0) },
      },
      {
        offset: '1003',
        timestamp: String(T0 - 10_000),
        key: Buffer.alloc(0),
        value: Buffer.alloc(300, 7),
        headers: {},
      },
    ]);
  });

  it('for any records (property)', async () => {
    await fc.assert(
      fc.asyncProperty(recordsArb, async (records) => {
        const batch = encodeRecordBatch(records);
        const decoded = await decode(batch);
        expect(decoded.records).toHaveLength(records.length);
        decoded.records.forEach((r, i) => {
          expect(r.offset).toBe(String(i));
          expect(r.timestamp).toBe(String(records[i].timestamp));
          expect(r.key).toEqual(records[i].key);
          expect(r.value).toEqual(records[i].value);
        });
        expect(batch.readUInt32BE(CRC)).toBe(kafkajsCrc32c(batch.subarray(ATTRIBUTES)));
      }),
      { numRuns: 200 },
    );
  });
});

const bytesArb = fc
  .option(
    fc.oneof(
      { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 100, maxLength: 5_000 }) },
    ),
    { nil: null },
  )
  .map((a) => (a === null ? null : Buffer.from(a)));

const recordsArb = fc
  .tuple(
    // Base timestamps across the whole range a varlong delta must cover.
    fc.oneof(
      fc.integer({ min: 0, max: 2 ** 41 }),
      fc.constant(-1),
      fc.integer({ min: -(2 ** 51), max: 2 ** 51 }),
    ),
    fc.array(
      fc.record({
        key: bytesArb,
        value: bytesArb,
        delta: fc.oneof(
          fc.integer({ min: -100, max: 100 }),
          fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
        ),
        headers: fc.array(
          fc.record({ key: fc.string({ maxLength: 12, unit: 'grapheme' }), value: bytesArb }),
          {
            maxLength: 3,
          },
        ),
      }),
      { minLength: 1, maxLength: 30 },
    ),
  )
  .map(([base, items]) =>
    items.map((r, i): NewRecord => ({
      key: r.key,
      value: r.value,
      timestamp: i === 0 ? base : base + r.delta,
      headers: r.headers,
    })),
  );

describe('round trip (property)', () => {
  it('readRecords gives back what encodeRecordBatch wrote, and the batch is valid', () => {
    fc.assert(
      fc.property(recordsArb, fc.integer({ min: 0, max: 2 ** 40 }), (records, baseOffset) => {
        const batch = encodeRecordBatch(records, { baseOffset });
        expect(plain(readRecords(batch))).toEqual(
          records.map((r, i) => ({
            offset: baseOffset + i,
            timestamp: r.timestamp,
            key: r.key,
            value: r.value,
            headers: r.headers,
          })),
        );
        const [info] = readBatchInfos(batch);
        expect(info.size).toBe(batch.length);
        expect(info.maxTimestamp).toBe(Math.max(...records.map((r) => r.timestamp)));
        batch.writeBigInt64BE(0n, 0);
        expect(validateRecordSet(batch).ok).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
