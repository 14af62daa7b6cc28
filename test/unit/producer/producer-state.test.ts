import { describe, expect, it } from 'vitest';
import { readBatchInfos } from '../../../plugins/kafka/records/batch-info.js';
import {
  BATCHES_TO_RETAIN,
  ProducerStateTable,
  lastSequenceOf,
  type ProducerBatch,
} from '../../../plugins/kafka/producer/producer-state.js';
import { buildBatch } from '../../helpers/record-batches.js';

const OUT_OF_ORDER_SEQUENCE_NUMBER = 45;
const INVALID_PRODUCER_EPOCH = 47;
const INT32_MAX = 0x7fffffff;

function batch(
  baseSequence: number,
  recordCount = 1,
  producerEpoch = 0,
  producerId = 1000,
): ProducerBatch {
  return {
    producerId,
    producerEpoch,
    baseSequence,
    lastOffsetDelta: recordCount - 1,
    maxTimestamp: 1_700_000_000_000,
  };
}

/** A partition: the table plus a log end offset, driven the way the produce path drives it. */
class Partition {
  readonly table = new ProducerStateTable();
  logEndOffset = 0;

  produce(b: ProducerBatch) {
    const decision = this.table.check(b);
    if (decision.kind === 'append') {
      const baseOffset = this.logEndOffset;
      this.logEndOffset += b.lastOffsetDelta + 1;
      this.table.onAppended(b, baseOffset);
      return { kind: 'appended' as const, baseOffset };
    }
    return decision;
  }
}

describe('ProducerStateTable', () => {
  it('appends in-order batches and remembers where they went', () => {
    const p = new Partition();
    expect(p.produce(batch(0, 3))).toEqual({ kind: 'appended', baseOffset: 0 });
    expect(p.produce(batch(3, 2))).toEqual({ kind: 'appended', baseOffset: 3 });
    expect(p.table.get(1000)).toMatchObject({
      producerEpoch: 0,
      batches: [
        { firstSequence: 0, lastSequence: 2, firstOffset: 0, lastOffset: 2 },
        { firstSequence: 3, lastSequence: 4, firstOffset: 3, lastOffset: 4 },
      ],
    });
  });

  it('accepts any first sequence from a producer it has no state for (no UNKNOWN_PRODUCER_ID)', () => {
    const p = new Partition();
    expect(p.produce(batch(57, 2))).toMatchObject({ kind: 'appended' });
    expect(p.produce(batch(59))).toMatchObject({ kind: 'appended' });
    expect(p.produce(batch(61))).toMatchObject({
      kind: 'error',
      errorCode: OUT_OF_ORDER_SEQUENCE_NUMBER,
    });
  });

  it('lets non-idempotent batches (producerId -1) through without state', () => {
    const p = new Partition();
    const plain = { ...batch(-1), producerId: -1, producerEpoch: -1 };
    expect(p.produce(plain)).toMatchObject({ kind: 'appended' });
    expect(p.produce(plain)).toMatchObject({ kind: 'appended' });
    expect(p.table.size).toBe(0);
  });

  it('keeps producers apart', () => {
    const p = new Partition();
    p.produce(batch(0, 1, 0, 1));
    p.produce(batch(0, 1, 0, 2));
    expect(p.produce(batch(1, 1, 0, 1))).toMatchObject({ kind: 'appended' });
    expect(p.produce(batch(1, 1, 0, 2))).toMatchObject({ kind: 'appended' });
  });

  describe('duplicates', () => {
    it('answers a retry of any of the last five batches with its original offsets and appends nothing', () => {
      const p = new Partition();
      const sent = [batch(0, 2), batch(2, 1), batch(3, 4), batch(7, 1), batch(8, 3)];
      const offsets = sent.map((b) => (p.produce(b) as { baseOffset: number }).baseOffset);
      const end = p.logEndOffset;
      sent.forEach((b, i) => {
        expect(p.produce(b)).toEqual({
          kind: 'duplicate',
          baseOffset: offsets[i],
          lastOffset: offsets[i] + b.lastOffsetDelta,
          maxTimestamp: b.maxTimestamp,
        });
      });
      expect(p.logEndOffset).toBe(end);
    });

    it('forgets batches beyond the last five: an older retry is out of order', () => {
      const p = new Partition();
      for (let seq = 0; seq <= BATCHES_TO_RETAIN; seq++) p.produce(batch(seq));
      expect(p.table.get(1000)?.batches).toHaveLength(BATCHES_TO_RETAIN);
      expect(p.produce(batch(0))).toMatchObject({
        kind: 'error',
        errorCode: OUT_OF_ORDER_SEQUENCE_NUMBER,
      });
      expect(p.produce(batch(1))).toMatchObject({ kind: 'duplicate', baseOffset: 1 });
    });

    it('matches the exact sequence range only', () => {
      const p = new Partition();
      p.produce(batch(0, 3));
      // Same first sequence, different length: not the batch we stored, and not in sequence.
      expect(p.produce(batch(0, 2))).toMatchObject({
        kind: 'error',
        errorCode: OUT_OF_ORDER_SEQUENCE_NUMBER,
      });
    });

    it('does not match a batch of an older epoch: that is a fenced producer', () => {
      const p = new Partition();
      p.produce(batch(0, 1, 0));
      p.produce(batch(0, 1, 1));
      expect(p.produce(batch(0, 1, 0))).toMatchObject({
        kind: 'error',
        errorCode: INVALID_PRODUCER_EPOCH,
      });
    });
  });

  describe('sequence rules', () => {
    it('refuses a gap with OUT_OF_ORDER_SEQUENCE_NUMBER', () => {
      const p = new Partition();
      p.produce(batch(0, 2));
      const result = p.produce(batch(3));
      expect(result).toMatchObject({ kind: 'error', errorCode: OUT_OF_ORDER_SEQUENCE_NUMBER });
      expect(p.logEndOffset).toBe(2);
      expect(p.produce(batch(2))).toMatchObject({ kind: 'appended' });
    });

    it('wraps from int32 max to 0', () => {
      expect(lastSequenceOf({ baseSequence: INT32_MAX - 1, lastOffsetDelta: 3 })).toBe(1);
      expect(lastSequenceOf({ baseSequence: INT32_MAX, lastOffsetDelta: 0 })).toBe(INT32_MAX);
      const p = new Partition();
      p.produce(batch(INT32_MAX - 2, 3)); // INT32_MAX-2 .. INT32_MAX
      expect(p.produce(batch(0, 2))).toMatchObject({ kind: 'appended' });
      expect(p.produce(batch(2))).toMatchObject({ kind: 'appended' });
    });

    it('wraps within one batch, and still recognises its retry', () => {
      const p = new Partition();
      p.produce(batch(INT32_MAX - 1, 4)); // INT32_MAX-1, INT32_MAX, 0, 1
      expect(p.table.get(1000)?.batches[0]).toMatchObject({
        firstSequence: INT32_MAX - 1,
        lastSequence: 1,
      });
      expect(p.produce(batch(INT32_MAX - 1, 4))).toMatchObject({
        kind: 'duplicate',
        baseOffset: 0,
      });
      expect(p.produce(batch(2))).toMatchObject({ kind: 'appended', baseOffset: 4 });
    });

    it('does not wrap to 0 before int32 max', () => {
      const p = new Partition();
      p.produce(batch(100));
      expect(p.produce(batch(0))).toMatchObject({
        kind: 'error',
        errorCode: OUT_OF_ORDER_SEQUENCE_NUMBER,
      });
    });
  });

  describe('epochs', () => {
    it('refuses an older epoch with INVALID_PRODUCER_EPOCH (not PRODUCER_FENCED, since Kafka 2.7)', () => {
      const p = new Partition();
      p.produce(batch(0, 1, 3));
      expect(p.produce(batch(1, 1, 2))).toMatchObject({
        kind: 'error',
        errorCode: INVALID_PRODUCER_EPOCH,
      });
    });

    it('accepts a bumped epoch starting at sequence 0 and forgets the old epoch batches', () => {
      const p = new Partition();
      p.produce(batch(0, 5, 0));
      expect(p.produce(batch(0, 1, 1))).toMatchObject({ kind: 'appended', baseOffset: 5 });
      expect(p.table.get(1000)).toMatchObject({
        producerEpoch: 1,
        batches: [{ firstSequence: 0, firstOffset: 5 }],
      });
      expect(p.produce(batch(0, 5, 0))).toMatchObject({
        kind: 'error',
        errorCode: INVALID_PRODUCER_EPOCH,
      });
    });

    it('refuses a bumped epoch that does not start at 0 with OUT_OF_ORDER_SEQUENCE_NUMBER', () => {
      const p = new Partition();
      p.produce(batch(0, 5, 0));
      expect(p.produce(batch(5, 1, 1))).toMatchObject({
        kind: 'error',
        errorCode: OUT_OF_ORDER_SEQUENCE_NUMBER,
      });
    });
  });

  it('check changes nothing; only onAppended records', () => {
    const table = new ProducerStateTable();
    expect(table.check(batch(0))).toEqual({ kind: 'append' });
    expect(table.size).toBe(0);
    table.onAppended(batch(0), 0);
    expect(table.check(batch(1))).toEqual({ kind: 'append' });
    expect(table.check(batch(1))).toEqual({ kind: 'append' });
    expect(table.get(1000)?.batches).toHaveLength(1);
  });

  describe('rebuildFromBatches', () => {
    /** A log as the store holds it: batches with their assigned base offsets. */
    function log(...specs: Parameters<typeof buildBatch>[0][]): Buffer {
      let offset = 0;
      return Buffer.concat(
        specs.map((spec) => {
          const b = buildBatch({ ...spec, baseOffset: offset });
          offset += spec?.recordCount ?? 1;
          return b;
        }),
      );
    }

    it('lets a producer continue after a restart, neither rejected nor duplicated', () => {
      const tail = log(
        { producerId: 7, producerEpoch: 2, baseSequence: 0, recordCount: 3 },
        { recordCount: 2 }, // a plain producer in between
        { producerId: 7, producerEpoch: 2, baseSequence: 3, recordCount: 1 },
        { producerId: 8, producerEpoch: 0, baseSequence: 40, recordCount: 2 },
      );
      const p = new Partition();
      p.table.rebuildFromBatches(readBatchInfos(tail));
      p.logEndOffset = 8;

      expect(p.table.size).toBe(2);
      // The last batch before the crash is retried: found, with its offset from the log.
      expect(p.produce(batch(3, 1, 2, 7))).toMatchObject({ kind: 'duplicate', baseOffset: 5 });
      expect(p.produce(batch(0, 3, 2, 7))).toMatchObject({ kind: 'duplicate', baseOffset: 0 });
      // The next batch continues the sequence.
      expect(p.produce(batch(4, 1, 2, 7))).toEqual({ kind: 'appended', baseOffset: 8 });
      expect(p.produce(batch(43, 1, 0, 8))).toMatchObject({
        kind: 'error',
        errorCode: OUT_OF_ORDER_SEQUENCE_NUMBER,
      });
      expect(p.produce(batch(42, 1, 0, 8))).toMatchObject({ kind: 'appended' });
    });

    it('keeps only the last five batches and the latest epoch', () => {
      const specs = [
        { producerId: 9, producerEpoch: 0, baseSequence: 0 },
        ...Array.from({ length: 7 }, (_, i) => ({
          producerId: 9,
          producerEpoch: 1,
          baseSequence: i,
        })),
      ];
      const table = new ProducerStateTable();
      table.rebuildFromBatches(readBatchInfos(log(...specs)));
      expect(table.get(9)?.producerEpoch).toBe(1);
      expect(table.get(9)?.batches.map((b) => [b.firstSequence, b.firstOffset])).toEqual([
        [2, 3],
        [3, 4],
        [4, 5],
        [5, 6],
        [6, 7],
      ]);
    });

    it('takes the epoch of a transaction marker and expects sequence 0 after it', () => {
      const table = new ProducerStateTable();
      table.rebuildFromBatches(
        readBatchInfos(
          log(
            { producerId: 4, producerEpoch: 0, baseSequence: 0, transactional: true },
            { producerId: 4, producerEpoch: 1, control: true, transactional: true },
          ),
        ),
      );
      expect(table.get(4)).toMatchObject({ producerEpoch: 1, batches: [] });
      expect(table.check(batch(1, 1, 1, 4))).toMatchObject({
        kind: 'error',
        errorCode: OUT_OF_ORDER_SEQUENCE_NUMBER,
      });
      expect(table.check(batch(0, 1, 1, 4))).toEqual({ kind: 'append' });
      expect(table.check(batch(1, 1, 0, 4))).toMatchObject({
        kind: 'error',
        errorCode: INVALID_PRODUCER_EPOCH,
      });
    });
  });

  it('expires producers whose last batch is older than producer.id.expiration.ms', () => {
    const table = new ProducerStateTable();
    table.onAppended({ ...batch(0, 1, 0, 1), maxTimestamp: 1_000 }, 0);
    table.onAppended({ ...batch(0, 1, 0, 2), maxTimestamp: 5_000 }, 1);
    expect(table.removeExpired(10_999, 10_000)).toBe(0);
    expect(table.removeExpired(11_000, 10_000)).toBe(1);
    expect(table.get(1)).toBeUndefined();
    expect(table.get(2)).toBeDefined();
    // An expired producer is unknown again: its next batch is accepted whatever its sequence.
    expect(table.check(batch(17, 1, 0, 1))).toEqual({ kind: 'append' });
  });
});
