/**
 * Encoder for Kafka's primitive wire types, producing a list of chunks for a vectored write.
 *
 * Small values are packed into scratch buffers; byte payloads of ZERO_COPY_THRESHOLD bytes or more
 * are appended as chunks of their own by reference, so a fetch response carries stored record
 * batches without copying them. The caller must not modify such a buffer until the chunks have
 * been written out.
 */

/** Byte payloads at least this long are referenced, not copied. */
export const ZERO_COPY_THRESHOLD = 1024;

/** Writes one array element; struct encoders ignore `compact`, primitive writers ignore `version`. */
export type ElementWriter<T> = (w: Writer, version: number, value: T, compact: boolean) => void;

const TWO_POW_32 = 4294967296;
const TWO_POW_63 = 2 ** 63;
const MAX_SCRATCH = 64 * 1024;

export class Writer {
  private readonly chunks: Buffer[] = [];
  /** Bytes already moved to `chunks`. */
  private flushed = 0;
  private buf: Buffer;
  /** Start of the part of `buf` not yet moved to `chunks`. */
  private start = 0;
  private pos = 0;

  constructor(initialCapacity = 256) {
    this.buf = Buffer.allocUnsafe(initialCapacity);
  }

  /** Total bytes written so far. */
  get length(): number {
    return this.flushed + this.pos - this.start;
  }

  /** The encoded bytes as chunks, in order. The writer must not be used afterwards. */
  finish(): Buffer[] {
    this.flush();
    return this.chunks;
  }

  /** The encoded bytes as one buffer (copies unless there is a single chunk). */
  toBuffer(): Buffer {
    const chunks = this.finish();
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.flushed);
  }

  private flush(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.buf.subarray(this.start, this.pos));
      this.flushed += this.pos - this.start;
      this.start = this.pos;
    }
  }

  /** Makes room for `n` more bytes in `buf` (which may then be a new buffer). */
  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) {
      // Old scratch data stays where it is (as a chunk); nothing is ever copied to grow.
      this.flush();
      this.buf = Buffer.allocUnsafe(Math.max(n, Math.min(this.buf.length * 2, MAX_SCRATCH)));
      this.start = this.pos = 0;
    }
  }

  /**
   * Makes room for `n` bytes and returns where they go. Callers must read `this.buf` only after
   * this call, since it may replace the buffer.
   */
  private reserve(n: number): number {
    this.ensure(n);
    const at = this.pos;
    this.pos = at + n;
    return at;
  }

  /** Appends bytes without a length prefix; large ones by reference. */
  raw(data: Buffer): this {
    if (data.length >= ZERO_COPY_THRESHOLD) {
      this.flush();
      this.chunks.push(data);
      this.flushed += data.length;
    } else if (data.length > 0) {
      const at = this.reserve(data.length);
      data.copy(this.buf, at);
    }
    return this;
  }

  // Integer writes store bytes directly, so out-of-range values wrap (as a Java cast would)
  // instead of throwing.

  int8(v: number): this {
    const at = this.reserve(1);
    this.buf[at] = v;
    return this;
  }

  int16(v: number): this {
    const at = this.reserve(2);
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v;
    return this;
  }

  uint16(v: number): this {
    return this.int16(v);
  }

  int32(v: number): this {
    const at = this.reserve(4);
    const b = this.buf;
    b[at] = v >>> 24;
    b[at + 1] = v >>> 16;
    b[at + 2] = v >>> 8;
    b[at + 3] = v;
    return this;
  }

  uint32(v: number): this {
    return this.int32(v);
  }

  /** int64 from a number; values beyond the int64 range are clamped, NaN is written as 0. */
  int64(v: number): this {
    let hi: number;
    let lo: number;
    if (v >= TWO_POW_63) {
      hi = 0x7fffffff;
      lo = 0xffffffff;
    } else if (v <= -TWO_POW_63) {
      hi = -0x80000000;
      lo = 0;
    } else if (!Number.isNaN(v)) {
      v = Math.trunc(v);
      hi = Math.floor(v / TWO_POW_32);
      lo = v - hi * TWO_POW_32;
    } else {
      hi = lo = 0;
    }
    this.int32(hi);
    return this.int32(lo);
  }

  float64(v: number): this {
    const at = this.reserve(8);
    this.buf.writeDoubleBE(v, at);
    return this;
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  uvarint(v: number): this {
    this.ensure(5);
    const b = this.buf;
    v >>>= 0;
    while (v >= 0x80) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[this.pos++] = v;
    return this;
  }

  /** Zigzag-encoded int32. */
  varint(v: number): this {
    return this.uvarint((v << 1) ^ (v >> 31));
  }

  /** Zigzag-encoded int64 from a number, clamped like int64(). */
  varlong(v: number): this {
    this.ensure(10);
    const b = this.buf;
    if (Number.isSafeInteger(v)) {
      // raw = 2|v| - (v < 0); emitting the sign as the low bit keeps the arithmetic exact.
      const negative = v < 0;
      let m = negative ? -v - 1 : v;
      let byte = (m % 64) * 2 + (negative ? 1 : 0);
      m = Math.floor(m / 64);
      while (m > 0) {
        b[this.pos++] = byte | 0x80;
        byte = m % 128;
        m = Math.floor(m / 128);
      }
      b[this.pos++] = byte;
      return this;
    }
    const big =
      v >= TWO_POW_63
        ? 2n ** 63n - 1n
        : v <= -TWO_POW_63
          ? -(2n ** 63n)
          : BigInt(Number.isNaN(v) ? 0 : Math.trunc(v));
    let raw = BigInt.asUintN(64, (big << 1n) ^ (big >> 63n));
    while (raw >= 0x80n) {
      b[this.pos++] = Number(raw & 0x7fn) | 0x80;
      raw >>= 7n;
    }
    b[this.pos++] = Number(raw);
    return this;
  }

  uuid(v: Buffer): this {
    if (v.length !== 16) throw new RangeError(`a uuid is 16 bytes, got ${v.length}`);
    const at = this.reserve(16);
    v.copy(this.buf, at);
    return this;
  }

  private writeStringLength(len: number, compact: boolean): void {
    if (compact) this.uvarint(len + 1);
    else this.int16(len);
  }

  private writeLength(len: number, compact: boolean): void {
    if (compact) this.uvarint(len + 1);
    else this.int32(len);
  }

  string(v: string, compact = false): this {
    const len = Buffer.byteLength(v, 'utf8');
    if (len > 0x7fff) throw new RangeError(`string of ${len} bytes exceeds the int16 length limit`);
    this.writeStringLength(len, compact);
    const at = this.reserve(len);
    this.buf.write(v, at, len, 'utf8');
    return this;
  }

  nullableString(v: string | null, compact = false): this {
    if (v === null) {
      this.writeStringLength(-1, compact);
      return this;
    }
    return this.string(v, compact);
  }

  bytes(v: Buffer, compact = false): this {
    this.writeLength(v.length, compact);
    return this.raw(v);
  }

  nullableBytes(v: Buffer | null, compact = false): this {
    if (v === null) {
      this.writeLength(-1, compact);
      return this;
    }
    return this.bytes(v, compact);
  }

  records(v: Buffer | null, compact = false): this {
    return this.nullableBytes(v, compact);
  }

  array<T>(items: readonly T[], compact: boolean, write: ElementWriter<T>, version = 0): this {
    this.writeLength(items.length, compact);
    for (let i = 0; i < items.length; i++) write(this, version, items[i], compact);
    return this;
  }

  nullableArray<T>(
    items: readonly T[] | null,
    compact: boolean,
    write: ElementWriter<T>,
    version = 0,
  ): this {
    if (items === null) {
      this.writeLength(-1, compact);
      return this;
    }
    return this.array(items, compact, write, version);
  }

  /** A nullable struct: an int8 marker (-1 null, 1 present), then the struct. */
  nullableStruct<T>(
    value: T | null,
    write: (w: Writer, version: number, value: T) => void,
    version: number,
  ): this {
    if (value === null) return this.int8(-1);
    this.int8(1);
    write(this, version, value);
    return this;
  }

  /** Appends one tagged field whose value was encoded into `value`. */
  taggedField(tag: number, value: Writer): this {
    this.uvarint(tag);
    this.uvarint(value.length);
    // raw() copies small chunks, so many small tagged fields do not fragment the output.
    for (const chunk of value.finish()) this.raw(chunk);
    return this;
  }
}

/** Element writers for arrays of primitives, shared by the generated encoders. */
export const writeElement = {
  int8: (w: Writer, _version: number, v: number): void => void w.int8(v),
  int16: (w: Writer, _version: number, v: number): void => void w.int16(v),
  uint16: (w: Writer, _version: number, v: number): void => void w.uint16(v),
  int32: (w: Writer, _version: number, v: number): void => void w.int32(v),
  int64: (w: Writer, _version: number, v: number): void => void w.int64(v),
  float64: (w: Writer, _version: number, v: number): void => void w.float64(v),
  bool: (w: Writer, _version: number, v: boolean): void => void w.bool(v),
  uuid: (w: Writer, _version: number, v: Buffer): void => void w.uuid(v),
  string: (w: Writer, _version: number, v: string, compact: boolean): void =>
    void w.string(v, compact),
  bytes: (w: Writer, _version: number, v: Buffer, compact: boolean): void =>
    void w.bytes(v, compact),
} as const;
