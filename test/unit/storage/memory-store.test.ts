import { MemoryMessageStore } from '../../../src/storage/memory-store.js';
import type { MessageStore } from '../../../src/storage/types.js';
import { describeMessageStoreContract } from '../../helpers/storage-contract.js';

describeMessageStoreContract('MemoryMessageStore', () => ({
  create: async ({ clock }) => new MemoryMessageStore({ clock }),
  // The data lives as long as the store: reopening means closing the logs and opening them again.
  reopen: async (store: MessageStore) => {
    for (const tp of await store.listLogs()) await (await store.openLog(tp)).close();
    return store;
  },
  cleanup: async () => {},
}));
