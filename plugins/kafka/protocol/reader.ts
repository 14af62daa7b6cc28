/**
 * Bounds-checked decoder for Kafka's primitive wire types.
 *
 * Input comes from the network, so every read checks the remaining bytes first and fails with a
 * ProtocolDecodeError; no length or count read from the wire is trusted before it has been
 * compared with what is actually left. Byte payloads (bytes, records) are returned as views into
 * the input buffer so large record sets are never copied.
 */

/** Thrown for any malformed input: truncation, bad lengths, over-long varints, bad tags. */
export class ProtocolDecodeError extends Error {
  override name = 'ProtocolDecodeError';
}

/** The all-zero uuid, Kafka's "no id". Shared: never mutate it. */
export const ZERO_UUID: Buffer = Buffer.alloc(16);

/** Zero-length buffer used as the default of bytes fields. */
export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

/** Kafka's text form of a uuid: 22 characters of unpadded base64url. */
export function uuidToString(uuid: Buffer): string {
  return uuid.toString('base64url');
}

export function uuidFromString(text: string): Buffer {
  // Node's base64 decoder skips characters it does not know; validate so typos are not silent.
  if (!/^[A-Za-z0-9_-]{21}[AQgw]$/.test(text)) {
    throw new RangeError(`not a Kafka uuid: ${JSON.stringify(text)}`);
  }
  return Buffer.from(text, 'base64url');
}

/** Reads one array element; struct decoders ignore `compact`, primitive readers ignore `version`. */
export type ElementReader<T> = (r: Reader, version: number, compact: boolean) => T;

const TWO_POW_32 = 4294967296;

export class Reader {
  readonly buf: Buffer;
  offset: number;

  constructor(buf: Buffer, offset = 0) {
    this.buf = buf;
    this.offset = offset;
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  /** Advances past `n` bytes and returns where they start. */
  private take(n: number): number {
    const at = this.offset;
    if (n > this.buf.length - at) {
      throw new ProtocolDecodeError(
        `truncated input: need ${n} bytes at offset ${at}, ${this.buf.length - at} left`,
      );
    }
    this.offset = at + n;
    return at;
  }

  skip(n: number): void {
    this.take(n);
  }

  int8(): number {
    const at = this.take(1);
    return (this.buf[at] << 24) >> 24;
  }

  int16(): number {
    const at = this.take(2);
    return ((this.buf[at] << 24) | (this.buf[at + 1] << 16)) >> 16;
  }

  uint16(): number {
    const at = this.take(2);
    return (this.buf[at] << 8) | this.buf[at + 1];
  }

  int32(): number {
    const at = this.take(4);
    const b = this.buf;
    return (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
  }

  uint32(): number {
    return this.int32() >>> 0;
  }

  /**
   * int64 as a number. hi * 2^32 is exact, so the single rounding in the addition gives the same
   * result as Number(readBigInt64BE()) without allocating a BigInt.
   */
  int64(): number {
    const at = this.take(8);
    const b = this.buf;
    const hi = (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
    const lo = ((b[at + 4] << 24) | (b[at + 5] << 16) | (b[at + 6] << 8) | b[at + 7]) >>> 0;
    return hi * TWO_POW_32 + lo;
  }

  float64(): number {
    return this.buf.readDoubleBE(this.take(8));
  }

  bool(): boolean {
    return this.buf[this.take(1)] !== 0;
  }

  /** Unsigned LEB128 of at most 5 bytes (bits past 32 are dropped, as Kafka does). */
  uvarint(): number {
    const b = this.buf;
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.offset >= b.length) throw new ProtocolDecodeError('truncated varint');
      const byte = b[this.offset++];
      value |= (byte & 0x7f) << shift;
      if (byte < 0x80) return value >>> 0;
    }
    throw new ProtocolDecodeError('varint longer than 5 bytes');
  }

  /** Zigzag-encoded int32. */
  varint(): number {
    const u = this.uvarint();
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zigzag-encoded int64, as a number (rounded beyond 2^53 like int64()). */
  varlong(): number {
    const b = this.buf;
    let raw = 0;
    // Seven bytes (49 bits) fit a double exactly; longer values finish in BigInt.
    for (let i = 0; i < 7; i++) {
      if (this.offset >= b.length) throw new ProtocolDecodeError('truncated varlong');
      const byte = b[this.offset++];
      raw += (byte & 0x7f) * 2 ** (7 * i);
      if (byte < 0x80) return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    }
    let big = BigInt(raw);
    for (let i = 7; i < 10; i++) {
      if (this.offset >= b.length) throw new ProtocolDecodeError('truncated varlong');
      const byte = b[this.offset++];
      big |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if (byte < 0x80) return Number(BigInt.asIntN(64, (big >> 1n) ^ -(big & 1n)));
    }
    throw new ProtocolDecodeError('varlong longer than 10 bytes');
  }

  /** A 16-byte copy, so a long-lived id does not pin the whole request buffer. */
  uuid(): Buffer {
    const at = this.take(16);
    return Buffer.from(this.buf.subarray(at, at + 16));
  }

  /** Length prefix of a string: int16, or unsigned varint of length + 1. -1 means null. */
  private readStringLength(compact: boolean): number {
    const len = compact ? this.uvarint() - 1 : this.int16();
    if (len < -1) throw new ProtocolDecodeError(`negative string length ${len}`);
    return len;
  }

  /** Length prefix of bytes, records and arrays: int32, or unsigned varint of length + 1. */
  private readLength(compact: boolean): number {
    const len = compact ? this.uvarint() - 1 : this.int32();
    if (len < -1) throw new ProtocolDecodeError(`negative length ${len}`);
    return len;
  }

  nullableString(compact = false): string | null {
    const len = this.readStringLength(compact);
    if (len === -1) return null;
    const at = this.take(len);
    return this.buf.toString('utf8', at, at + len);
  }

  string(compact = false): string {
    const s = this.nullableString(compact);
    if (s === null) throw new ProtocolDecodeError('null in a non-nullable string');
    return s;
  }

  /** A view into the input, not a copy. */
  nullableBytes(compact = false): Buffer | null {
    const len = this.readLength(compact);
    if (len === -1) return null;
    const at = this.take(len);
    return this.buf.subarray(at, at + len);
  }

  bytes(compact = false): Buffer {
    const b = this.nullableBytes(compact);
    if (b === null) throw new ProtocolDecodeError('null in a non-nullable bytes field');
    return b;
  }

  /** A record set, undecoded: a view into the input, not a copy. */
  records(compact = false): Buffer | null {
    return this.nullableBytes(compact);
  }

  nullableArray<T>(compact: boolean, read: ElementReader<T>, version = 0): T[] | null {
    const count = this.readLength(compact);
    if (count === -1) return null;
    // Every element takes at least a byte, so a count above the bytes left is a lie; checking it
    // here keeps a forged count from allocating or looping beyond the input's size.
    if (count > this.buf.length - this.offset) {
      throw new ProtocolDecodeError(
        `array count ${count} exceeds the ${this.remaining} bytes left`,
      );
    }
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(read(this, version, compact));
    return items;
  }

  array<T>(compact: boolean, read: ElementReader<T>, version = 0): T[] {
    const items = this.nullableArray(compact, read, version);
    if (items === null) throw new ProtocolDecodeError('null in a non-nullable array');
    return items;
  }

  /** A nullable struct: an int8 marker (-1 null, 1 present), then the struct. */
  nullableStruct<T>(read: (r: Reader, version: number) => T, version: number): T | null {
    return this.int8() < 0 ? null : read(this, version);
  }

  /** Skips a whole tagged-field section. */
  skipTaggedFields(): void {
    for (let n = this.uvarint(); n > 0; n--) {
      this.uvarint();
      this.take(this.uvarint());
    }
  }

  /** Reads a tagged field's size and returns the offset where its value must end. */
  tagEnd(): number {
    const size = this.uvarint();
    if (size > this.buf.length - this.offset) {
      throw new ProtocolDecodeError(`tagged field of ${size} bytes exceeds the input`);
    }
    return this.offset + size;
  }

  /** Checks that a known tagged field used exactly the size its header announced. */
  checkTagEnd(end: number): void {
    if (this.offset !== end) {
      throw new ProtocolDecodeError(`tagged field size mismatch at offset ${this.offset}`);
    }
  }
}

/** Element readers for arrays of primitives, shared by the generated decoders. */
export const readElement = {
  int8: (r: Reader): number => r.int8(),
  int16: (r: Reader): number => r.int16(),
  uint16: (r: Reader): number => r.uint16(),
  int32: (r: Reader): number => r.int32(),
  int64: (r: Reader): number => r.int64(),
  float64: (r: Reader): number => r.float64(),
  bool: (r: Reader): boolean => r.bool(),
  uuid: (r: Reader): Buffer => r.uuid(),
  string: (r: Reader, _version: number, compact: boolean): string => r.string(compact),
  bytes: (r: Reader, _version: number, compact: boolean): Buffer => r.bytes(compact),
} as const;
