/**
 * Sparse time index of one segment (`.timeindex`): entries of (largest timestamp so far: int64,
 * offset relative to the segment's base: uint32), as Kafka lays them out. An entry says that no
 * batch up to and including the one at its offset has a timestamp above its timestamp, so a
 * lookup can skip everything up to the last entry below the target. Timestamps strictly increase.
 */
import { SparseIndex, readInt64, writeInt64 } from './sparse-index.js';

const ENTRY_BYTES = 12;

export class TimeIndex extends SparseIndex {
  constructor(
    readonly baseOffset: number,
    contents?: Buffer,
  ) {
    super(ENTRY_BYTES, contents);
  }

  static problem(contents: Buffer): string | null {
    if (contents.length % ENTRY_BYTES !== 0) return `size ${contents.length} is not whole entries`;
    let lastTimestamp = -1;
    let lastOffset = 0;
    for (let at = 0; at < contents.length; at += ENTRY_BYTES) {
      const timestamp = readInt64(contents, at);
      const offset = contents.readUInt32BE(at + 8);
      if (timestamp <= lastTimestamp || offset < lastOffset) {
        return `entry ${at / ENTRY_BYTES} (${timestamp} at ${offset}) is out of order`;
      }
      lastTimestamp = timestamp;
      lastOffset = offset;
    }
    return null;
  }

  /** Largest timestamp indexed; -1 when none. */
  get lastTimestamp(): number {
    return this.entries === 0 ? -1 : this.keyAt(this.entries - 1);
  }

  /** Offset of the last entry; the base offset when there is none. */
  get lastOffset(): number {
    return this.entries === 0
      ? this.baseOffset
      : this.baseOffset + this.bytes.readUInt32BE(this.at(this.entries - 1) + 8);
  }

  /** Adds an entry when `timestamp` is above the last one (the index only ever rises). */
  maybeAppend(timestamp: number, offset: number): void {
    if (timestamp <= this.lastTimestamp) return;
    const at = this.push();
    writeInt64(this.bytes, at, timestamp);
    this.bytes.writeUInt32BE(offset - this.baseOffset, at + 8);
  }

  /**
   * Offset from which to scan for the first batch with a max timestamp >= `target`: every batch
   * before it is known to be older.
   */
  scanStart(target: number): number {
    const entry = this.floor(target, true);
    return entry < 0
      ? this.baseOffset
      : this.baseOffset + this.bytes.readUInt32BE(this.at(entry) + 8);
  }

  protected keyAt(entry: number): number {
    return readInt64(this.bytes, this.at(entry));
  }
}
