/** The message store: contract, implementations and their settings. */
export * from './types.js';
export { DEFAULT_LOG_CONFIG, resolveLogConfig } from './log-config.js';
export type { StorageLogger } from './logger.js';
export { FileMessageStore, type FileMessageStoreOptions } from './file-store.js';
export { MemoryMessageStore, type MemoryMessageStoreOptions } from './memory-store.js';
export { topicDirName, topicFromDirName } from './topic-dirs.js';
