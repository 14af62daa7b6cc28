/**
 * Sparse offset index of one segment (`.index`): entries of (offset relative to the segment's
 * base: uint32, file position of the batch starting there: uint32), as Kafka lays them out.
 * A read looks up the last entry at or before its offset and scans batch headers from there.
 */
import { SparseIndex } from './sparse-index.js';

const ENTRY_BYTES = 8;

export interface OffsetPosition {
  offset: number;
  position: number;
}

export class OffsetIndex extends SparseIndex {
  constructor(
    readonly baseOffset: number,
    contents?: Buffer,
  ) {
    super(ENTRY_BYTES, contents);
  }

  /** Why `contents` read from disk cannot index a segment of `segmentBytes`; null when fine. */
  static problem(contents: Buffer, segmentBytes: number): string | null {
    if (contents.length % ENTRY_BYTES !== 0) return `size ${contents.length} is not whole entries`;
    let lastOffset = -1;
    let lastPosition = -1;
    for (let at = 0; at < contents.length; at += ENTRY_BYTES) {
      const offset = contents.readUInt32BE(at);
      const position = contents.readUInt32BE(at + 4);
      if (offset <= lastOffset || position <= lastPosition || position >= segmentBytes) {
        return `entry ${at / ENTRY_BYTES} (${offset} at ${position}) is out of order or range`;
      }
      lastOffset = offset;
      lastPosition = position;
    }
    return null;
  }

  append(offset: number, position: number): void {
    const at = this.push();
    this.bytes.writeUInt32BE(offset - this.baseOffset, at);
    this.bytes.writeUInt32BE(position, at + 4);
  }

  /** The last indexed batch starting at or before `offset`; the segment start when none. */
  lookup(offset: number): OffsetPosition {
    return this.entry(this.floor(offset - this.baseOffset, false));
  }

  last(): OffsetPosition {
    return this.entry(this.entries - 1);
  }

  protected keyAt(entry: number): number {
    return this.bytes.readUInt32BE(this.at(entry));
  }

  private entry(entry: number): OffsetPosition {
    if (entry < 0) return { offset: this.baseOffset, position: 0 };
    const at = this.at(entry);
    return {
      offset: this.baseOffset + this.bytes.readUInt32BE(at),
      position: this.bytes.readUInt32BE(at + 4),
    };
  }
}
