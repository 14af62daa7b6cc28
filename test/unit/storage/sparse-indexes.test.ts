import { describe, expect, it } from 'vitest';
import { OffsetIndex } from '../../../src/storage/offset-index.js';
import { TimeIndex } from '../../../src/storage/time-index.js';

describe('OffsetIndex', () => {
  it('finds the last entry at or before an offset', () => {
    const index = new OffsetIndex(1000);
    for (let i = 1; i <= 200; i++) index.append(1000 + 10 * i, 4096 * i);
    expect(index.lookup(1000)).toEqual({ offset: 1000, position: 0 });
    expect(index.lookup(1009)).toEqual({ offset: 1000, position: 0 });
    expect(index.lookup(1010)).toEqual({ offset: 1010, position: 4096 });
    expect(index.lookup(1555)).toEqual({ offset: 1550, position: 55 * 4096 });
    expect(index.lookup(99999)).toEqual({ offset: 3000, position: 200 * 4096 });
    expect(index.last()).toEqual({ offset: 3000, position: 200 * 4096 });
  });

  it('round-trips through its file layout and checks what it loads', () => {
    const index = new OffsetIndex(5);
    index.append(7, 100);
    index.append(9, 250);
    const contents = Buffer.from(index.contents());
    expect(contents).toEqual(Buffer.from([0, 0, 0, 2, 0, 0, 0, 100, 0, 0, 0, 4, 0, 0, 0, 250]));
    expect(OffsetIndex.problem(contents, 300)).toBeNull();
    expect(new OffsetIndex(5, contents).lookup(8)).toEqual({ offset: 7, position: 100 });
    expect(OffsetIndex.problem(contents, 250)).toMatch(/out of order or range/);
    expect(OffsetIndex.problem(contents.subarray(0, 12), 300)).toMatch(/whole entries/);
    expect(OffsetIndex.problem(Buffer.concat([contents, contents]), 300)).toMatch(/out of order/);
    expect(Buffer.from(index.contents(1))).toEqual(contents.subarray(8));
  });

  it('undoes entries of a failed write', () => {
    const index = new OffsetIndex(0);
    index.append(1, 10);
    index.append(2, 20);
    index.truncate(1);
    expect(index.last()).toEqual({ offset: 1, position: 10 });
  });
});

describe('TimeIndex', () => {
  it('only grows, and says where a timestamp search can start', () => {
    const index = new TimeIndex(100);
    expect(index.lastTimestamp).toBe(-1);
    expect(index.scanStart(5)).toBe(100);
    index.maybeAppend(1_700_000_000_000, 110);
    index.maybeAppend(1_600_000_000_000, 120); // lower: skipped
    index.maybeAppend(1_700_000_000_500, 130);
    expect(index.entries).toBe(2);
    expect(index.lastTimestamp).toBe(1_700_000_000_500);
    expect(index.scanStart(1_700_000_000_000)).toBe(100);
    expect(index.scanStart(1_700_000_000_001)).toBe(110);
    expect(index.scanStart(9e15)).toBe(130);
    const contents = Buffer.from(index.contents());
    expect(TimeIndex.problem(contents)).toBeNull();
    expect(new TimeIndex(100, contents).scanStart(1_700_000_000_001)).toBe(110);
    expect(TimeIndex.problem(Buffer.concat([contents, contents]))).toMatch(/out of order/);
    expect(TimeIndex.problem(contents.subarray(1))).toMatch(/whole entries/);
  });
});
