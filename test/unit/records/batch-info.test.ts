import { describe, expect, it } from 'vitest';
import { BATCH_LENGTH } from '../../../src/storage/batch-header.js';
import { countBatches, readBatchInfos } from '../../../plugins/kafka/records/batch-info.js';
import { buildBatch } from '../../helpers/record-batches.js';

describe('readBatchInfos', () => {
  it('reads the header of every whole batch, with positions and offsets', () => {
    const a = buildBatch({
      baseOffset: 0,
      recordCount: 2,
      producerId: 5,
      producerEpoch: 1,
      baseSequence: 0,
    });
    const b = buildBatch({ baseOffset: 2, recordCount: 3, control: true, transactional: true });
    const infos = [...readBatchInfos(Buffer.concat([a, b]))];
    expect(
      infos.map((i) => [i.position, i.size, i.baseOffset, i.recordCount, i.isControl]),
    ).toEqual([
      [0, a.length, 0, 2, false],
      [a.length, b.length, 2, 3, true],
    ]);
    expect(infos[0]).toMatchObject({ producerId: 5, producerEpoch: 1, baseSequence: 0 });
  });

  it('skips a partial batch at the end, as a fetch cut by max bytes ends', () => {
    const a = buildBatch({ recordCount: 2 });
    const b = buildBatch({ baseOffset: 2 });
    expect([...readBatchInfos(Buffer.concat([a, b.subarray(0, 70)]))]).toHaveLength(1);
    expect([...readBatchInfos(Buffer.concat([a, b.subarray(0, 20)]))]).toHaveLength(1);
  });

  it('throws on a batch too short to hold its header', () => {
    const a = buildBatch();
    a.writeInt32BE(20, BATCH_LENGTH);
    expect(() => [...readBatchInfos(a)]).toThrow(/less than a batch header/);
  });
});

describe('countBatches', () => {
  it('counts the whole batches and their records from the headers', () => {
    const a = buildBatch({ recordCount: 2 });
    const b = buildBatch({ baseOffset: 2, recordCount: 5 });
    expect(countBatches(Buffer.concat([a, b]))).toEqual({ batches: 2, records: 7 });
    expect(countBatches(Buffer.concat([a, b.subarray(0, 70)]))).toEqual({ batches: 1, records: 2 });
    expect(countBatches(Buffer.alloc(0))).toEqual({ batches: 0, records: 0 });
  });

  it('stops quietly at bytes that are not a batch: counting never fails a fetch', () => {
    const a = buildBatch({ recordCount: 2 });
    const b = buildBatch({ baseOffset: 2 });
    b.writeInt32BE(20, BATCH_LENGTH);
    expect(countBatches(Buffer.concat([a, b]))).toEqual({ batches: 1, records: 2 });
  });
});
