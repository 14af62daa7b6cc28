import type { Logger } from 'pino';
import type { HostConfig } from '../config/host-config.js';
import { FileMessageStore } from '../storage/file-store.js';
import { MemoryMessageStore } from '../storage/memory-store.js';
import type { LogConfig, MessageStore } from '../storage/types.js';

export function logDefaults(config: HostConfig): LogConfig {
  return {
    segmentBytes: config.logSegmentBytes,
    segmentMs: config.logSegmentMs,
    retentionMs: config.logRetentionMs,
    retentionBytes: config.logRetentionBytes,
    flushIntervalMessages: config.logFlushIntervalMessages,
    flushIntervalMs: config.logFlushIntervalMs,
    indexIntervalBytes: config.logIndexIntervalBytes,
  };
}

export function createMessageStore(config: HostConfig, logger: Logger): MessageStore {
  const defaults = logDefaults(config);
  return config.messageStore === 'memory'
    ? new MemoryMessageStore({ defaults })
    : new FileMessageStore({ dataDir: config.dataDir, defaults, logger });
}
