export {
  CompressionCodec,
  countBatches,
  NO_PRODUCER_ID,
  readBatchInfo,
  readBatchInfos,
  type BatchInfo,
} from './batch-info.js';
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  validateRecordSet,
  type RecordSetInfo,
  type RecordSetResult,
  type ValidateOptions,
} from './validate-record-set.js';
export {
  encodeRecordBatch,
  readBatchRecords,
  readRecords,
  type EncodeBatchOptions,
  type NewRecord,
  type ReadRecord,
  type RecordHeader,
} from './record-batch-writer.js';
