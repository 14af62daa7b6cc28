/**
 * A sparse, append-only index kept in memory in its on-disk byte layout (fixed-size big-endian
 * entries), so that loading and persisting it are a single read or write with no conversion.
 * Entries are sorted by their first field; lookups binary-search it.
 */
export abstract class SparseIndex {
  private buf: Buffer;
  private count: number;

  protected constructor(
    readonly entryBytes: number,
    contents?: Buffer,
  ) {
    this.buf = contents ?? Buffer.alloc(64 * entryBytes);
    this.count = contents ? Math.floor(contents.length / entryBytes) : 0;
  }

  get entries(): number {
    return this.count;
  }

  /** Memory held, for budgeting. */
  get capacityBytes(): number {
    return this.buf.length;
  }

  /** The entries in file layout; shares memory with the index. */
  contents(fromEntry = 0): Buffer {
    return this.buf.subarray(fromEntry * this.entryBytes, this.count * this.entryBytes);
  }

  /** Drops the entries from `entries` on (used to undo the entries of a failed write). */
  truncate(entries: number): void {
    this.count = Math.min(this.count, entries);
  }

  protected abstract keyAt(entry: number): number;

  /** Byte position of entry `entry`. */
  protected at(entry: number): number {
    return entry * this.entryBytes;
  }

  protected get bytes(): Buffer {
    return this.buf;
  }

  /** Makes room for one more entry and returns its byte position. */
  protected push(): number {
    const at = this.count * this.entryBytes;
    if (at + this.entryBytes > this.buf.length) {
      const grown = Buffer.alloc(Math.max(this.buf.length * 2, 64 * this.entryBytes));
      this.buf.copy(grown, 0, 0, at);
      this.buf = grown;
    }
    this.count += 1;
    return at;
  }

  /** The last entry whose key is <= `key` (< `key` when `strict`), or -1. */
  protected floor(key: number, strict: boolean): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = this.keyAt(mid);
      if (k < key || (!strict && k === key)) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }
}

export function readInt64(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * 2 ** 32 + buf.readUInt32BE(at + 4);
}

export function writeInt64(buf: Buffer, at: number, value: number): void {
  const high = Math.floor(value / 2 ** 32);
  buf.writeInt32BE(high, at);
  buf.writeUInt32BE(value - high * 2 ** 32, at + 4);
}
