/**
 * Topic-level settings Koppa understands, by their Kafka names, and how they map to the
 * store's per-log settings. Anything else is rejected with INVALID_CONFIG, as Kafka does.
 */
import type { HostConfig, LogConfig } from '../../../src/api/index.js';

interface ConfigKey {
  /** The broker-wide default, from the host's settings. */
  brokerDefault(host: HostConfig, maxMessageSize: number): string;
  valid(value: string): boolean;
}

const integer = (min: number) => (v: string) => /^-?\d+$/.test(v) && Number(v) >= min;

export const TOPIC_CONFIGS: Record<string, ConfigKey> = {
  'retention.ms': { brokerDefault: (h) => String(h.logRetentionMs), valid: integer(-1) },
  'retention.bytes': { brokerDefault: (h) => String(h.logRetentionBytes), valid: integer(-1) },
  'segment.bytes': { brokerDefault: (h) => String(h.logSegmentBytes), valid: integer(1024) },
  'segment.ms': { brokerDefault: (h) => String(h.logSegmentMs), valid: integer(1) },
  'flush.messages': {
    brokerDefault: (h) => String(h.logFlushIntervalMessages),
    valid: integer(-1),
  },
  'flush.ms': { brokerDefault: (h) => String(h.logFlushIntervalMs), valid: integer(-1) },
  'index.interval.bytes': {
    brokerDefault: (h) => String(h.logIndexIntervalBytes),
    valid: integer(1),
  },
  'max.message.bytes': { brokerDefault: (_h, max) => String(max), valid: integer(0) },
  // Only the delete policy exists; compaction of user topics is not implemented.
  'cleanup.policy': { brokerDefault: () => 'delete', valid: (v) => v === 'delete' },
  'message.timestamp.type': { brokerDefault: () => 'CreateTime', valid: (v) => v === 'CreateTime' },
};

/** The first problem with `configs`, or null when all are known and valid. */
export function validateTopicConfigs(configs: Record<string, string>): string | null {
  for (const [name, value] of Object.entries(configs)) {
    const key = TOPIC_CONFIGS[name];
    if (!key) return `unknown topic config ${name}`;
    if (!key.valid(value)) return `invalid value ${value} for topic config ${name}`;
  }
  return null;
}

/** The store settings a topic's overrides ask for; unset ones fall back to the store defaults. */
export function logConfigOf(configs: Record<string, string>): Partial<LogConfig> {
  const out: Partial<LogConfig> = {};
  const num = (name: string) => (configs[name] === undefined ? undefined : Number(configs[name]));
  const set = <K extends keyof LogConfig>(key: K, value: number | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set('retentionMs', num('retention.ms'));
  set('retentionBytes', num('retention.bytes'));
  set('segmentBytes', num('segment.bytes'));
  set('segmentMs', num('segment.ms'));
  set('flushIntervalMessages', num('flush.messages'));
  set('flushIntervalMs', num('flush.ms'));
  set('indexIntervalBytes', num('index.interval.bytes'));
  return out;
}
