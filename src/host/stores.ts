import type { Logger } from 'pino';
import { logDefaults, type HostConfig } from '../config/host-config.js';
import { FileMessageStore } from '../storage/file-store.js';
import { MemoryMessageStore } from '../storage/memory-store.js';
import type { MessageStore } from '../storage/types.js';

export function createMessageStore(config: HostConfig, logger: Logger): MessageStore {
  const defaults = logDefaults(config);
  return config.messageStore === 'memory'
    ? new MemoryMessageStore({ defaults })
    : new FileMessageStore({
        dataDir: config.dataDir,
        defaults,
        logger,
        fenceGraceMs: config.logFenceGraceMs,
      });
}
