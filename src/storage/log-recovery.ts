/**
 * Recovery of the last segment after an unclean shutdown. A `kill -9` can cut a write short and a
 * power cut can leave unsynced pages as zeros or stale bytes, but only at the tail of the active
 * segment: earlier segments were fsynced before the next one was created. So the last segment is
 * read through once, every batch checked (framing, magic, CRC-32C, offsets following on), and
 * the segment ends before the first batch that fails; its indexes are rebuilt on the way. The
 * file is cut there, unless the caller is about to seal the segment at that length instead (a
 * claim that was not a clean hand-over: the previous owner may still write into the file, so
 * cutting it would settle nothing; see owner-fence).
 */
import {
  BATCH_HEADER_SIZE,
  CRC,
  batchSizeAt,
  computeBatchCrc,
  readBaseOffset,
} from './batch-header.js';
import { framingProblem, lastOffsetDelta, maxTimestampAt } from './batch-framing.js';
import type { StorageLogger } from './logger.js';
import type { LogSegment } from './segment.js';

/** Sequential reads this large keep recovery near disk bandwidth. */
const CHUNK_BYTES = 1024 * 1024;

export interface RecoveryOutcome {
  batches: number;
  validBytes: number;
  truncatedBytes: number;
  /** Offset after the last sound batch. */
  nextOffset: number;
}

export async function recoverSegment(
  segment: LogSegment,
  logger: StorageLogger,
  logFields: Readonly<Record<string, unknown>>,
  cut = true,
): Promise<RecoveryOutcome> {
  segment.resetForRecovery();
  const end = segment.size;
  let chunk = Buffer.allocUnsafeSlow(Math.min(CHUNK_BYTES, Math.max(end, BATCH_HEADER_SIZE)));
  let chunkStart = 0;
  let chunkLength = 0;
  const holds = (position: number, length: number): boolean =>
    position >= chunkStart && position + length <= chunkStart + chunkLength;
  const load = async (position: number, length: number): Promise<boolean> => {
    if (length > chunk.length) chunk = Buffer.allocUnsafeSlow(length);
    chunkLength = await segment.readAt(chunk, length, position);
    chunkStart = position;
    return chunkLength === length;
  };

  let position = 0;
  let expected = segment.baseOffset;
  let batches = 0;
  let problem: string | null = null;
  while (position < end) {
    const remaining = end - position;
    if (!holds(position, Math.min(BATCH_HEADER_SIZE, remaining))) {
      if (!(await load(position, Math.min(CHUNK_BYTES, remaining)))) {
        problem = 'file shorter than its size';
        break;
      }
    }
    // Only the header is read here: framing checks the size against what the file holds.
    problem = framingProblem(chunk, position - chunkStart, position - chunkStart + remaining);
    if (problem !== null) break;
    const size = batchSizeAt(chunk, position - chunkStart);
    if (!holds(position, size)) {
      if (!(await load(position, Math.max(size, Math.min(CHUNK_BYTES, remaining))))) {
        problem = 'file shorter than its size';
        break;
      }
    }
    const at = position - chunkStart;
    const baseOffset = readBaseOffset(chunk, at);
    if (baseOffset !== expected) {
      problem = `base offset ${baseOffset} where ${expected} was due`;
      break;
    }
    if (chunk.readUInt32BE(at + CRC) !== computeBatchCrc(chunk, at, size)) {
      problem = 'CRC-32C mismatch';
      break;
    }
    const lastOffset = baseOffset + lastOffsetDelta(chunk, at);
    segment.trackRecovered(position, baseOffset, lastOffset, size, maxTimestampAt(chunk, at));
    expected = lastOffset + 1;
    position += size;
    batches += 1;
  }

  const outcome = {
    batches,
    validBytes: position,
    truncatedBytes: end - position,
    nextOffset: expected,
  };
  if (position < end && cut) {
    logger.warn(
      { ...logFields, file: segment.file, ...outcome, problem },
      'truncating the torn tail of the log',
    );
    await segment.truncate(position);
  } else if (position < end) {
    logger.warn(
      { ...logFields, file: segment.file, ...outcome, problem },
      'ending the log before a torn tail (the segment is sealed there)',
    );
    segment.size = position;
  } else {
    logger.debug({ ...logFields, file: segment.file, ...outcome }, 'recovered log segment');
  }
  return outcome;
}
