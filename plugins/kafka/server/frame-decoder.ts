/**
 * Splits a TCP byte stream into Kafka request frames (int32 size prefix, then the frame).
 * The size is checked against the limit before any buffer for the frame is allocated.
 * A frame that arrives within one chunk is handed out as a view of that chunk, without a copy.
 */

export class FrameTooLargeError extends Error {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`frame of ${size} bytes exceeds the limit of ${limit}`);
    this.name = 'FrameTooLargeError';
  }
}

export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes needed before the next frame can be cut: its size prefix, then the whole frame. */
  private needed = 4;

  constructor(private readonly maxFrameSize: number) {}

  /** Returns the frames completed by `chunk`; throws FrameTooLargeError or on a negative size. */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    // Chunks of a large frame are only gathered until it is complete, then joined once.
    if (this.pendingBytes < this.needed) return [];
    const data = this.pending.length === 1 ? chunk : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.needed = 4;

    const frames: Buffer[] = [];
    let pos = 0;
    while (data.length - pos >= 4) {
      const size = data.readInt32BE(pos);
      if (size < 0) throw new Error(`negative frame size ${size}`);
      if (size > this.maxFrameSize) throw new FrameTooLargeError(size, this.maxFrameSize);
      if (data.length - pos - 4 < size) {
        this.needed = 4 + size;
        break;
      }
      frames.push(data.subarray(pos + 4, pos + 4 + size));
      pos += 4 + size;
    }
    if (pos < data.length) {
      this.pending.push(data.subarray(pos));
      this.pendingBytes = data.length - pos;
    }
    return frames;
  }

  /** Bytes of an incomplete frame held back. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }
}
