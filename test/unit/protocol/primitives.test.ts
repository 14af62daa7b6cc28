import { describe, expect, it } from 'vitest';
import {
  ProtocolDecodeError,
  Reader,
  readElement,
  uuidFromString,
  uuidToString,
  ZERO_UUID,
} from '../../../plugins/kafka/protocol/reader.js';
import {
  Writer,
  writeElement,
  ZERO_COPY_THRESHOLD,
} from '../../../plugins/kafka/protocol/writer.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const bytesOf = (write: (w: Writer) => unknown): string => {
  const w = new Writer();
  write(w);
  return w.toBuffer().toString('hex');
};

describe('varints', () => {
  const unsigned: [number, string][] = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [300, 'ac02'],
    [16383, 'ff7f'],
    [16384, '808001'],
    [2 ** 31, '8080808008'],
    [2 ** 32 - 1, 'ffffffff0f'],
  ];
  it.each(unsigned)('unsigned varint %d is %s', (value, encoded) => {
    expect(bytesOf((w) => w.uvarint(value))).toBe(encoded);
    expect(new Reader(hex(encoded)).uvarint()).toBe(value);
  });

  const zigzag: [number, string][] = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-64, '7f'],
    [64, '8001'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ];
  it.each(zigzag)('varint %d is %s', (value, encoded) => {
    expect(bytesOf((w) => w.varint(value))).toBe(encoded);
    expect(new Reader(hex(encoded)).varint()).toBe(value);
  });

  const zigzag64: [number, string][] = [
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-65, '8101'],
    [2 ** 31, '8080808010'],
    [Number.MAX_SAFE_INTEGER, 'feffffffffffff1f'],
    [Number.MIN_SAFE_INTEGER, 'fdffffffffffff1f'],
  ];
  it.each(zigzag64)('varlong %d is %s', (value, encoded) => {
    expect(bytesOf((w) => w.varlong(value))).toBe(encoded);
    expect(new Reader(hex(encoded)).varlong()).toBe(value);
  });

  it('varlong clamps to the int64 range and decodes the extremes', () => {
    const max = 'feffffffffffffffff01';
    const min = 'ffffffffffffffffff01';
    expect(bytesOf((w) => w.varlong(Number.MAX_VALUE))).toBe(max);
    expect(bytesOf((w) => w.varlong(-Infinity))).toBe(min);
    expect(new Reader(hex(max)).varlong()).toBe(2 ** 63);
    expect(new Reader(hex(min)).varlong()).toBe(-(2 ** 63));
    // Beyond 2^53 the magnitude is rounded but the sign must survive.
    expect(new Reader(hex(bytesOf((w) => w.varlong(-(2 ** 60))))).varlong()).toBe(-(2 ** 60));
  });

  it('rejects over-long and truncated varints', () => {
    expect(() => new Reader(hex('8080808080')).uvarint()).toThrow(ProtocolDecodeError);
    expect(() => new Reader(hex('80808080808080808080')).varlong()).toThrow(ProtocolDecodeError);
    expect(() => new Reader(hex('8080')).uvarint()).toThrow(ProtocolDecodeError);
    expect(() => new Reader(hex('80808080808080')).varlong()).toThrow(ProtocolDecodeError);
  });
});

describe('fixed-width integers', () => {
  it('encodes and decodes big-endian', () => {
    const w = new Writer();
    w.int8(-2).int16(-2).uint16(65535).int32(-2).uint32(4294967295).int64(-2).float64(1.5);
    w.bool(true);
    const buf = w.toBuffer();
    expect(buf.toString('hex')).toBe(
      'fe' +
        'fffe' +
        'ffff' +
        'fffffffe' +
        'ffffffff' +
        'fffffffffffffffe' +
        '3ff8000000000000' +
        '01',
    );
    const r = new Reader(buf);
    expect([
      r.int8(),
      r.int16(),
      r.uint16(),
      r.int32(),
      r.uint32(),
      r.int64(),
      r.float64(),
    ]).toEqual([-2, -2, 65535, -2, 4294967295, -2, 1.5]);
    expect(r.bool()).toBe(true);
    expect(r.remaining).toBe(0);
  });

  it('int64 round-trips safe integers and clamps the rest', () => {
    for (const v of [0, 1, -1, 2 ** 32, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53 - 1), 1234567890123]) {
      expect(new Reader(new Writer().int64(v).toBuffer()).int64()).toBe(v);
    }
    expect(bytesOf((w) => w.int64(Number.MAX_VALUE))).toBe('7fffffffffffffff');
    expect(bytesOf((w) => w.int64(Infinity))).toBe('7fffffffffffffff');
    expect(bytesOf((w) => w.int64(-Number.MAX_VALUE))).toBe('8000000000000000');
    expect(bytesOf((w) => w.int64(NaN))).toBe('0000000000000000');
    expect(new Reader(hex('7fffffffffffffff')).int64()).toBe(Number(2n ** 63n - 1n));
    expect(new Reader(hex('8000000000000000')).int64()).toBe(-(2 ** 63));
    expect(new Reader(hex('0020000000000001')).int64()).toBe(Number(0x20000000000001n));
  });

  it('fails on truncation with ProtocolDecodeError', () => {
    expect(() => new Reader(hex('000000')).int32()).toThrow(ProtocolDecodeError);
    expect(() => new Reader(hex('00000000000000')).int64()).toThrow(ProtocolDecodeError);
    expect(() => new Reader(Buffer.alloc(0)).int8()).toThrow(ProtocolDecodeError);
    expect(() => new Reader(hex('0102'), 2).bool()).toThrow(ProtocolDecodeError);
  });
});

describe('strings, bytes and arrays', () => {
  it('classic and compact strings', () => {
    expect(bytesOf((w) => w.string('héllo'))).toBe('0006' + Buffer.from('héllo').toString('hex'));
    expect(bytesOf((w) => w.string('abc', true))).toBe('04616263');
    expect(bytesOf((w) => w.nullableString(null))).toBe('ffff');
    expect(bytesOf((w) => w.nullableString(null, true))).toBe('00');
    expect(new Reader(hex('0003616263')).string()).toBe('abc');
    expect(new Reader(hex('04616263')).string(true)).toBe('abc');
    expect(new Reader(hex('ffff')).nullableString()).toBeNull();
    expect(new Reader(hex('00')).nullableString(true)).toBeNull();
    expect(new Reader(hex('01')).string(true)).toBe('');
  });

  it('rejects null where not allowed and lengths other than -1 below zero', () => {
    expect(() => new Reader(hex('ffff')).string()).toThrow(ProtocolDecodeError);
    expect(() => new Reader(hex('fffe')).nullableString()).toThrow(ProtocolDecodeError);
    expect(() => new Reader(hex('fffffffe')).nullableBytes()).toThrow(ProtocolDecodeError);
    expect(() => new Reader(hex('00')).bytes(true)).toThrow(ProtocolDecodeError);
    expect(() => new Reader(hex('0005616263')).string()).toThrow(ProtocolDecodeError);
  });

  it('bytes and records are views into the input', () => {
    const input = hex('00000003 010203 04 aabbcc');
    const r = new Reader(input);
    const b = r.bytes();
    expect(b.buffer).toBe(input.buffer);
    expect(b.byteOffset).toBe(input.byteOffset + 4);
    const rec = r.records(true);
    expect(rec?.toString('hex')).toBe('aabbcc');
    expect(rec?.buffer).toBe(input.buffer);
  });

  it('checks array counts against the bytes left before allocating', () => {
    const r = new Reader(hex('7fffffff 00000001'));
    expect(() => r.array(false, readElement.int32)).toThrow(/exceeds/);
    expect(() => new Reader(hex('ffffffff')).array(false, readElement.int32)).toThrow(
      ProtocolDecodeError,
    );
    expect(new Reader(hex('ffffffff')).nullableArray(false, readElement.int32)).toBeNull();
    expect(new Reader(hex('03 0261 0262')).array(true, readElement.string)).toEqual(['a', 'b']);
    expect(bytesOf((w) => w.array([1, 2], true, writeElement.int32))).toBe('030000000100000002');
    expect(bytesOf((w) => w.nullableArray(null, false, writeElement.int32))).toBe('ffffffff');
  });
});

describe('uuid', () => {
  it("uses Kafka's base64url text form", () => {
    expect(uuidToString(ZERO_UUID)).toBe('AAAAAAAAAAAAAAAAAAAAAA');
    // Kafka's METADATA_TOPIC_ID is new Uuid(0L, 1L).
    const id = uuidFromString('AAAAAAAAAAAAAAAAAAAAAQ');
    expect(id.toString('hex')).toBe('00000000000000000000000000000001');
    expect(uuidToString(id)).toBe('AAAAAAAAAAAAAAAAAAAAAQ');
    expect(() => uuidFromString('not-a-uuid')).toThrow(RangeError);
    expect(() => uuidFromString('AAAAAAAAAAAAAAAAAAAAAB')).toThrow(RangeError);
  });

  it('reads a copy so it does not pin the input', () => {
    const input = Buffer.alloc(16, 7);
    const id = new Reader(input).uuid();
    expect(id.equals(input)).toBe(true);
    input[0] = 0;
    expect(id[0]).toBe(7);
  });
});

describe('writer', () => {
  it('appends large payloads by reference and copies small ones', () => {
    const big = Buffer.alloc(ZERO_COPY_THRESHOLD, 1);
    const small = Buffer.alloc(10, 2);
    const w = new Writer();
    w.int32(1).bytes(big).bytes(small).records(big, true).int8(9);
    const chunks = w.finish();
    expect(chunks.filter((c) => c === big)).toHaveLength(2);
    expect(chunks.some((c) => c === small)).toBe(false);
    const all = Buffer.concat(chunks);
    expect(all.length).toBe(w.length);
    const r = new Reader(all);
    expect(r.int32()).toBe(1);
    expect(r.bytes().equals(big)).toBe(true);
    expect(r.bytes().equals(small)).toBe(true);
    expect(r.records(true)?.equals(big)).toBe(true);
    expect(r.int8()).toBe(9);
  });

  it('grows across many scratch buffers without losing bytes', () => {
    const w = new Writer(8);
    for (let i = 0; i < 50_000; i++)
      w.varint(i)
        .string('x'.repeat(i % 7), true)
        .int64(i);
    const r = new Reader(w.toBuffer());
    for (let i = 0; i < 50_000; i++) {
      expect(r.varint()).toBe(i);
      expect(r.string(true)).toBe('x'.repeat(i % 7));
      expect(r.int64()).toBe(i);
    }
    expect(r.remaining).toBe(0);
  });

  it('refuses strings longer than a Kafka string can be', () => {
    expect(() => new Writer().string('x'.repeat(0x8000))).toThrow(RangeError);
  });
});
