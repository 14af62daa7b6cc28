/**
 * Idempotent-producer state of one partition, kept as Kafka's ProducerStateManager keeps it: per
 * producer id, the epoch and the sequence and offset ranges of its last five appended batches.
 * Five is what an idempotent producer may have in flight (max.in.flight.requests.per.connection
 * <= 5), so a retry of any of them is recognised and answered with its original offsets instead
 * of being appended twice.
 *
 * Pure and synchronous, no I/O: the caller runs check then onAppended for each batch, in order.
 */
import { ErrorCode } from '../protocol/index.js';
import type { BatchInfo } from '../records/batch-info.js';

const { OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH } = ErrorCode;

/** Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN. */
export const BATCHES_TO_RETAIN = 5;
/** Kafka's default producer.id.expiration.ms: one day. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;

const INT32_MAX = 0x7fffffff;

/** What the table needs of a produced batch (a BatchInfo has it all). */
export type ProducerBatch = Pick<
  BatchInfo,
  'producerId' | 'producerEpoch' | 'baseSequence' | 'lastOffsetDelta' | 'maxTimestamp'
>;

/** A batch read back from the log, with its assigned offset. */
export type LoggedBatch = ProducerBatch & Pick<BatchInfo, 'baseOffset' | 'isControl'>;

export interface AppendedBatch {
  firstSequence: number;
  lastSequence: number;
  firstOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

export interface ProducerEntry {
  producerEpoch: number;
  /** Oldest first, at most BATCHES_TO_RETAIN, all of the current epoch. */
  batches: AppendedBatch[];
  /** Max timestamp of the producer's last batch; drives expiration, as in Kafka. */
  lastTimestamp: number;
}

export type ProducerCheck =
  | { kind: 'append' }
  /**
   * A retry of an appended batch: append nothing and answer with these. Kafka answers
   * base_offset = baseOffset and log_append_time_ms = maxTimestamp of the original batch.
   */
  | { kind: 'duplicate'; baseOffset: number; lastOffset: number; maxTimestamp: number }
  | { kind: 'error'; errorCode: number; message: string };

const APPEND: ProducerCheck = { kind: 'append' };

export class ProducerStateTable {
  private readonly entries = new Map<number, ProducerEntry>();

  /** Decides what to do with a produced batch; changes nothing. */
  check(batch: ProducerBatch): ProducerCheck {
    if (batch.producerId < 0) return APPEND;
    const entry = this.entries.get(batch.producerId);
    // No state for this producer (new, expired, or its batches left the log): any sequence is
    // accepted. Kafka does the same since 2.5 (KIP-360); it no longer answers UNKNOWN_PRODUCER_ID
    // on the produce path, so neither do we.
    if (entry === undefined) return APPEND;

    // Duplicates are looked for first and only within the current epoch (findDuplicateBatch).
    if (batch.producerEpoch === entry.producerEpoch) {
      const lastSequence = lastSequenceOf(batch);
      const original = entry.batches.find(
        (b) => b.firstSequence === batch.baseSequence && b.lastSequence === lastSequence,
      );
      if (original !== undefined) {
        return {
          kind: 'duplicate',
          baseOffset: original.firstOffset,
          lastOffset: original.lastOffset,
          maxTimestamp: original.maxTimestamp,
        };
      }
    }

    // An older epoch is a zombie. Since 2.7 Kafka answers INVALID_PRODUCER_EPOCH here, not
    // PRODUCER_FENCED (KIP-588), so that a transactional client can abort and carry on.
    if (batch.producerEpoch < entry.producerEpoch) {
      return reject(
        INVALID_PRODUCER_EPOCH,
        `Epoch of producer ${batch.producerId} is ${batch.producerEpoch}, which is smaller than the last seen epoch ${entry.producerEpoch}`,
      );
    }
    // A new epoch restarts the sequence at 0.
    if (batch.producerEpoch > entry.producerEpoch) {
      if (batch.baseSequence === 0) return APPEND;
      return reject(
        OUT_OF_ORDER_SEQUENCE_NUMBER,
        `Invalid sequence number for new epoch of producer ${batch.producerId}: ${batch.producerEpoch} (request epoch), ${batch.baseSequence} (seq. number), ${entry.producerEpoch} (current producer epoch)`,
      );
    }
    // Same epoch: the batch must follow the last one exactly. A gap, or a retry older than the
    // last five, is out of order (Kafka no longer uses DUPLICATE_SEQUENCE_NUMBER).
    const lastSequence = entry.batches.at(-1)?.lastSequence ?? -1;
    if (isNextSequence(lastSequence, batch.baseSequence)) return APPEND;
    return reject(
      OUT_OF_ORDER_SEQUENCE_NUMBER,
      `Out of order sequence number for producer ${batch.producerId}: ${batch.baseSequence} (incoming seq. number), ${lastSequence} (current end sequence number)`,
    );
  }

  /** Records a batch that `check` accepted and the log appended at `baseOffset`. */
  onAppended(batch: ProducerBatch, baseOffset: number): void {
    if (batch.producerId < 0) return;
    const entry = this.entryAtEpoch(batch.producerId, batch.producerEpoch);
    entry.batches.push({
      firstSequence: batch.baseSequence,
      lastSequence: lastSequenceOf(batch),
      firstOffset: baseOffset,
      lastOffset: baseOffset + batch.lastOffsetDelta,
      maxTimestamp: batch.maxTimestamp,
    });
    if (entry.batches.length > BATCHES_TO_RETAIN) entry.batches.shift();
    entry.lastTimestamp = batch.maxTimestamp;
  }

  /**
   * Replays batch headers of the log tail, oldest first, as Kafka replays the log after its last
   * producer snapshot: no checks, only state. A producer that keeps sending after a broker
   * restart then continues its sequence, and its retries are still found to be duplicates.
   * Producers whose batches are all before the replayed tail stay unknown (any sequence accepted).
   */
  rebuildFromBatches(batches: Iterable<LoggedBatch>): void {
    for (const batch of batches) {
      if (batch.producerId < 0) continue;
      if (batch.isControl) {
        // A transaction marker carries the producer's epoch and no sequence.
        this.entryAtEpoch(batch.producerId, batch.producerEpoch).lastTimestamp = batch.maxTimestamp;
      } else {
        this.onAppended(batch, batch.baseOffset);
      }
    }
  }

  /**
   * Forgets producers whose last batch is older than `expirationMs` (Kafka's
   * producer.id.expiration.ms, measured against batch timestamps as Kafka does). Returns how many.
   */
  removeExpired(nowMs: number, expirationMs = DEFAULT_PRODUCER_ID_EXPIRATION_MS): number {
    let removed = 0;
    for (const [producerId, entry] of this.entries) {
      if (nowMs - entry.lastTimestamp >= expirationMs) {
        this.entries.delete(producerId);
        removed++;
      }
    }
    return removed;
  }

  get(producerId: number): Readonly<ProducerEntry> | undefined {
    return this.entries.get(producerId);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The producer's entry, moved to `epoch` (its batches belong to the old epoch and go). */
  private entryAtEpoch(producerId: number, epoch: number): ProducerEntry {
    let entry = this.entries.get(producerId);
    if (entry === undefined) {
      entry = { producerEpoch: epoch, batches: [], lastTimestamp: -1 };
      this.entries.set(producerId, entry);
    } else if (entry.producerEpoch !== epoch) {
      entry.producerEpoch = epoch;
      entry.batches = [];
    }
    return entry;
  }
}

/** Sequence of the batch's last record; sequences wrap from int32 max to 0. */
export function lastSequenceOf(
  batch: Pick<ProducerBatch, 'baseSequence' | 'lastOffsetDelta'>,
): number {
  const { baseSequence, lastOffsetDelta } = batch;
  return baseSequence > INT32_MAX - lastOffsetDelta
    ? lastOffsetDelta - (INT32_MAX - baseSequence) - 1
    : baseSequence + lastOffsetDelta;
}

function isNextSequence(lastSequence: number, nextSequence: number): boolean {
  return nextSequence === lastSequence + 1 || (nextSequence === 0 && lastSequence === INT32_MAX);
}

function reject(errorCode: number, message: string): ProducerCheck {
  return { kind: 'error', errorCode, message };
}
