export {
  BATCHES_TO_RETAIN,
  DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  ProducerStateTable,
  lastSequenceOf,
  type AppendedBatch,
  type LoggedBatch,
  type ProducerBatch,
  type ProducerCheck,
  type ProducerEntry,
} from './producer-state.js';
export {
  DEFAULT_PRODUCER_ID_BLOCK_SIZE,
  PRODUCER_ID_BLOCK_PATH,
  ProducerIdAllocator,
  type ProducerIdAllocatorOptions,
} from './producer-id-allocator.js';
