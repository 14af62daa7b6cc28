/**
 * Topic-level settings Koppa understands, by their Kafka names: which store setting each one
 * drives and where its default comes from. Anything else is rejected with INVALID_CONFIG, as
 * Kafka does, and so is any value the store would refuse.
 */
import {
  logDefaults,
  resolveLogConfig,
  type HostConfig,
  type LogConfig,
} from '../../../src/api/index.js';

/** DescribeConfigs' ConfigSource values (v1+). */
export const CONFIG_SOURCE_TOPIC = 1;
export const CONFIG_SOURCE_STATIC_BROKER = 4;
export const CONFIG_SOURCE_DEFAULT = 5;

interface TopicConfigKey {
  /** The store setting it overrides; absent for settings the Kafka handler applies itself. */
  logKey?: keyof LogConfig;
  /** The value when the topic does not override it. */
  brokerDefault(host: HostConfig, maxMessageSize: number): string;
  valid(value: string): boolean;
}

const integer = (v: string) => /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v));
const fromLog = (logKey: keyof LogConfig): TopicConfigKey => ({
  logKey,
  brokerDefault: (host) => String(logDefaults(host)[logKey]),
  valid: integer,
});

export const TOPIC_CONFIGS: Record<string, TopicConfigKey> = {
  'retention.ms': fromLog('retentionMs'),
  'retention.bytes': fromLog('retentionBytes'),
  'segment.bytes': fromLog('segmentBytes'),
  'segment.ms': fromLog('segmentMs'),
  'flush.messages': fromLog('flushIntervalMessages'),
  'flush.ms': fromLog('flushIntervalMs'),
  'index.interval.bytes': fromLog('indexIntervalBytes'),
  'max.message.bytes': {
    brokerDefault: (_host, max) => String(max),
    valid: (v) => integer(v) && Number(v) >= 0,
  },
  // Only the delete policy exists; compaction of user topics is not implemented.
  'cleanup.policy': { brokerDefault: () => 'delete', valid: (v) => v === 'delete' },
  'message.timestamp.type': { brokerDefault: () => 'CreateTime', valid: (v) => v === 'CreateTime' },
};

/** The first problem with `configs`, or null when all are known and the store accepts them. */
export function validateTopicConfigs(configs: Record<string, string>): string | null {
  for (const [name, value] of Object.entries(configs)) {
    const key = TOPIC_CONFIGS[name];
    if (!key) return `unknown topic config ${name}`;
    if (!key.valid(value)) return `invalid value ${value} for topic config ${name}`;
  }
  try {
    resolveLogConfig(logConfigOf(configs));
  } catch (err) {
    return (err as Error).message;
  }
  return null;
}

/** The store settings a topic's overrides ask for; unset ones fall back to the store defaults. */
export function logConfigOf(configs: Record<string, string>): Partial<LogConfig> {
  const out: Partial<LogConfig> = {};
  for (const [name, value] of Object.entries(configs)) {
    const logKey = TOPIC_CONFIGS[name]?.logKey;
    if (logKey) out[logKey] = Number(value);
  }
  return out;
}

export interface EffectiveConfig {
  name: string;
  value: string;
  /** True when the topic does not override the broker default. */
  isDefault: boolean;
}

/** Every topic setting with its value for this topic, as CreateTopics and DescribeConfigs list them. */
export function effectiveTopicConfigs(
  overrides: Record<string, string>,
  host: HostConfig,
  maxMessageSize: number,
): EffectiveConfig[] {
  return Object.entries(TOPIC_CONFIGS).map(([name, key]) => {
    const override = overrides[name];
    return override === undefined
      ? { name, value: key.brokerDefault(host, maxMessageSize), isDefault: true }
      : { name, value: override, isDefault: false };
  });
}
