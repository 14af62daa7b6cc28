import { FileMessageStore } from '../../../src/storage/file-store.js';
import type { MessageStore } from '../../../src/storage/types.js';
import { describeMessageStoreContract } from '../../helpers/storage-contract.js';
import { makeTempDir, removeTempDir } from '../../helpers/storage-temp.js';

describeMessageStoreContract('FileMessageStore', () => {
  let dataDir = '';
  let clock: () => number = Date.now;
  return {
    create: async (options) => {
      dataDir = await makeTempDir();
      clock = options.clock;
      return new FileMessageStore({ dataDir, clock });
    },
    reopen: async (store: MessageStore) => {
      await store.close();
      return new FileMessageStore({ dataDir, clock });
    },
    cleanup: () => removeTempDir(dataDir),
  };
});

describeMessageStoreContract('FileMessageStore with tiny caches', () => {
  let dataDir = '';
  let clock: () => number = Date.now;
  // Every read misses the tail cache and every closed-segment lookup reloads its index.
  const options = { tailCacheBytes: 0, indexCacheBytes: 0 };
  return {
    create: async (o) => {
      dataDir = await makeTempDir();
      clock = o.clock;
      return new FileMessageStore({ dataDir, clock, ...options });
    },
    reopen: async (store: MessageStore) => {
      await store.close();
      return new FileMessageStore({ dataDir, clock, ...options });
    },
    cleanup: () => removeTempDir(dataDir),
  };
});
