/**
 * Log settings shared by every store: production defaults, layering of store-wide defaults and
 * per-log overrides, and validation (a bad setting fails at openLog, not at the first roll).
 */
import type { LogConfig } from './types.js';

const MiB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Kafka's broker defaults, except that the time trigger fsyncs once a second. */
export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * MiB,
  segmentMs: 7 * DAY_MS,
  retentionMs: 7 * DAY_MS,
  retentionBytes: -1,
  flushIntervalMessages: -1,
  flushIntervalMs: 1000,
  indexIntervalBytes: 4096,
});

/** Index positions are stored as 32-bit values, like Kafka's. */
const MAX_SEGMENT_BYTES = 2 ** 31 - 1;

const RANGES: Record<keyof LogConfig, [min: number, max: number, allowMinusOne: boolean]> = {
  segmentBytes: [1, MAX_SEGMENT_BYTES, false],
  segmentMs: [1, Number.MAX_SAFE_INTEGER, false],
  retentionMs: [0, Number.MAX_SAFE_INTEGER, true],
  retentionBytes: [0, Number.MAX_SAFE_INTEGER, true],
  flushIntervalMessages: [1, Number.MAX_SAFE_INTEGER, true],
  flushIntervalMs: [0, Number.MAX_SAFE_INTEGER, true],
  indexIntervalBytes: [0, MAX_SEGMENT_BYTES, false],
};

/** Layers `overrides` over the defaults, left to right; `undefined` values do not override. */
export function resolveLogConfig(...overrides: (Partial<LogConfig> | undefined)[]): LogConfig {
  const config: LogConfig = { ...DEFAULT_LOG_CONFIG };
  for (const layer of overrides) {
    if (!layer) continue;
    for (const key of Object.keys(RANGES) as (keyof LogConfig)[]) {
      const value = layer[key];
      if (value !== undefined) config[key] = value;
    }
  }
  for (const [key, [min, max, allowMinusOne]] of Object.entries(RANGES)) {
    const value = config[key as keyof LogConfig];
    const ok =
      Number.isInteger(value) &&
      ((value >= min && value <= max) || (allowMinusOne && value === -1));
    if (!ok) {
      throw new RangeError(
        `log config ${key} must be an integer in [${min}, ${max}]${allowMinusOne ? ' or -1' : ''}, got ${value}`,
      );
    }
  }
  return config;
}
