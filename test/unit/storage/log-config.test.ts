import { describe, expect, it } from 'vitest';
import { DEFAULT_LOG_CONFIG, resolveLogConfig } from '../../../src/storage/log-config.js';

describe('log config', () => {
  it('has production defaults', () => {
    expect(DEFAULT_LOG_CONFIG).toEqual({
      segmentBytes: 1024 * 1024 * 1024,
      segmentMs: 7 * 24 * 3600 * 1000,
      retentionMs: 7 * 24 * 3600 * 1000,
      retentionBytes: -1,
      flushIntervalMessages: -1,
      flushIntervalMs: 1000,
      indexIntervalBytes: 4096,
    });
    expect(Object.isFrozen(DEFAULT_LOG_CONFIG)).toBe(true);
  });

  it('layers overrides left to right, ignoring undefined', () => {
    const config = resolveLogConfig(
      { segmentBytes: 10, retentionMs: 5 },
      { segmentBytes: undefined, retentionMs: -1 },
    );
    expect(config).toEqual({ ...DEFAULT_LOG_CONFIG, segmentBytes: 10, retentionMs: -1 });
  });

  it('rejects settings that make no sense', () => {
    for (const bad of [
      { segmentBytes: 0 },
      { segmentBytes: 2 ** 31 },
      { segmentMs: -1 },
      { retentionBytes: -2 },
      { flushIntervalMessages: 0 },
      { indexIntervalBytes: 1.5 },
      { flushIntervalMs: Number.NaN },
    ]) {
      expect(() => resolveLogConfig(bad)).toThrow(RangeError);
    }
  });
});
