import { describe, expect, it } from 'vitest';
import {
  findBatch,
  frameBatchSet,
  framingProblem,
  wholeBatchesLength,
} from '../../../src/storage/batch-framing.js';
import { InvalidBatchError } from '../../../src/storage/types.js';
import { makeBatch, makeBatches } from '../../helpers/record-batches.js';

describe('batch framing', () => {
  it('sums what the log needs from a record set', () => {
    const set = makeBatches([{ records: 3 }, { records: 1 }, { records: 5 }]);
    expect(frameBatchSet(set)).toEqual({ batchCount: 3, offsetCount: 9, recordCount: 9 });
  });

  it('names what is wrong with a bad batch', () => {
    const batch = makeBatch({ records: 2 });
    expect(framingProblem(batch, 0, batch.length)).toBeNull();
    expect(framingProblem(batch, 0, 60)).toMatch(/cannot hold a batch header/);
    expect(framingProblem(batch, 0, batch.length - 1)).toMatch(/runs past the end/);
    const copy = Buffer.from(batch);
    copy[16] = 0;
    expect(framingProblem(copy, 0, copy.length)).toMatch(/magic 0/);
    copy[16] = 2;
    copy.writeInt32BE(-1, 23);
    expect(framingProblem(copy, 0, copy.length)).toMatch(/lastOffsetDelta/);
    copy.writeInt32BE(0, 8);
    expect(framingProblem(copy, 0, copy.length)).toMatch(/smaller than a header/);
    expect(() => frameBatchSet(Buffer.concat([batch, copy]))).toThrow(InvalidBatchError);
    expect(() => frameBatchSet(Buffer.concat([batch, copy]))).toThrow(/at byte \d+/);
  });

  it('cuts a run at a byte budget, skipping a partial batch at the end', () => {
    const a = makeBatch({ records: 1 });
    const b = makeBatch({ records: 4 });
    const run = Buffer.concat([a, b, a]);
    expect(wholeBatchesLength(run, 0, run.length, run.length, false)).toBe(run.length);
    expect(wholeBatchesLength(run, 0, run.length, a.length + b.length - 1, false)).toBe(a.length);
    expect(wholeBatchesLength(run, 0, run.length, 0, false)).toBe(0);
    expect(wholeBatchesLength(run, 0, run.length, 0, true)).toBe(a.length);
    expect(wholeBatchesLength(run, 0, run.length - 5, 1e9, false)).toBe(a.length + b.length);
    expect(wholeBatchesLength(run, 0, a.length + 3, 1e9, true)).toBe(a.length);
  });

  it('finds the batch holding an offset', () => {
    const run = makeBatches([{ records: 2 }, { records: 3 }]);
    run.writeBigInt64BE(10n, 0);
    const second = makeBatch({ records: 2 }).length;
    run.writeBigInt64BE(12n, second);
    expect(findBatch(run, 0, run.length, 11)).toBe(0);
    expect(findBatch(run, 0, run.length, 12)).toBe(second);
    expect(findBatch(run, 0, run.length, 14)).toBe(second);
    expect(findBatch(run, 0, run.length, 15)).toBe(-1);
  });
});
