/**
 * Fetch: whole stored batches, straight from the store to the socket (no copy, no per-record
 * work), with Kafka's byte budgets (KIP-74: the first non-empty partition returns at least one
 * whole batch) and long polling until min bytes arrive or max wait passes. Fetch sessions
 * (KIP-227) are not kept: every answer has session id 0, so clients send full fetches.
 */
import { OffsetOutOfRangeError, type TopicMetadata } from '../../../src/api/index.js';
import type { KafkaBrokerContext } from '../broker-context.js';
import type { Partition, PartitionManager } from '../partitions/partition-manager.js';
import {
  ApiKey,
  ErrorCode,
  ZERO_UUID,
  type FetchRequest,
  type FetchResponse,
} from '../protocol/index.js';
import type { ApiHandler, RequestContext } from './api-handler.js';

type TopicResult = FetchResponse['responses'][number];
type PartitionResult = TopicResult['partitions'][number];

const EMPTY = Buffer.alloc(0);
const LEADER_EPOCH = 0;

interface PartitionFetch {
  index: number;
  fetchOffset: number;
  maxBytes: number;
  currentLeaderEpoch: number;
  /** The open partition, or the error to answer with. */
  partition: Partition | number;
}

interface TopicFetch {
  name: string;
  topicId: Buffer;
  partitions: PartitionFetch[];
}

export function fetchHandler(
  broker: KafkaBrokerContext,
  partitions: PartitionManager,
): ApiHandler<typeof ApiKey.Fetch> {
  function partitionResult(
    index: number,
    errorCode: number,
    partition?: Partition,
    records: Buffer = EMPTY,
  ): PartitionResult {
    const hw = partition ? partition.log.logEndOffset() : -1;
    return {
      partitionIndex: index,
      errorCode,
      highWatermark: hw,
      lastStableOffset: hw,
      logStartOffset: partition ? partition.log.logStartOffset() : -1,
      abortedTransactions: null,
      preferredReadReplica: -1,
      records,
    };
  }

  async function resolve(request: FetchRequest, version: number): Promise<TopicFetch[]> {
    return Promise.all(
      request.topics.map(async (t): Promise<TopicFetch> => {
        let topic: TopicMetadata | undefined;
        let missing: number = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        if (version >= 13) {
          topic = broker.topics.getById(t.topicId ?? ZERO_UUID);
          missing = ErrorCode.UNKNOWN_TOPIC_ID;
        } else {
          const name = broker.namer.parse(t.topic ?? '');
          topic = name ? broker.topics.get(name.fullName) : undefined;
        }
        return {
          name: t.topic ?? '',
          topicId: t.topicId ?? ZERO_UUID,
          partitions: await Promise.all(
            t.partitions.map(async (p): Promise<PartitionFetch> => {
              const opening = topic ? partitions.get(topic.name, p.partition) : null;
              let partition: Partition | number = opening ? await opening : missing;
              const epoch = p.currentLeaderEpoch ?? -1;
              if (typeof partition !== 'number' && epoch > LEADER_EPOCH)
                partition = ErrorCode.UNKNOWN_LEADER_EPOCH;
              return {
                index: p.partition,
                fetchOffset: p.fetchOffset,
                maxBytes: p.partitionMaxBytes,
                currentLeaderEpoch: epoch,
                partition,
              };
            }),
          ),
        };
      }),
    );
  }

  /** One pass over every partition within the byte budget. */
  async function readAll(
    topics: TopicFetch[],
    maxBytes: number,
  ): Promise<{ responses: TopicResult[]; bytes: number }> {
    let bytes = 0;
    const responses: TopicResult[] = [];
    for (const t of topics) {
      const results: PartitionResult[] = [];
      for (const p of t.partitions) {
        if (typeof p.partition === 'number') {
          results.push(partitionResult(p.index, p.partition));
          continue;
        }
        const budget = Math.min(p.maxBytes, maxBytes - bytes);
        if (budget <= 0 && bytes > 0) {
          results.push(partitionResult(p.index, ErrorCode.NONE, p.partition));
          continue;
        }
        try {
          const read = await p.partition.log.read(p.fetchOffset, Math.max(budget, 0), bytes === 0);
          bytes += read.records.length;
          results.push(partitionResult(p.index, ErrorCode.NONE, p.partition, read.records));
        } catch (err) {
          if (!(err instanceof OffsetOutOfRangeError)) throw err;
          results.push(partitionResult(p.index, ErrorCode.OFFSET_OUT_OF_RANGE, p.partition));
        }
      }
      responses.push({ topic: t.name, topicId: t.topicId, partitions: results });
    }
    return { responses, bytes };
  }

  /** Resolves when any fetched partition gets new data, the wait ends, or the request is abandoned. */
  async function waitForData(
    topics: TopicFetch[],
    waitMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    const done = new AbortController();
    const stop = () => done.abort();
    const timer = setTimeout(stop, waitMs);
    signal.addEventListener('abort', stop, { once: true });
    try {
      const waits: Promise<void>[] = [];
      for (const t of topics) {
        for (const p of t.partitions) {
          if (typeof p.partition !== 'number') {
            waits.push(
              p.partition.log.waitForAppend(
                Math.max(p.fetchOffset, p.partition.log.logEndOffset()),
                done.signal,
              ),
            );
          }
        }
      }
      waits.push(
        new Promise<void>((resolve) =>
          done.signal.addEventListener('abort', () => resolve(), { once: true }),
        ),
      );
      await Promise.race(waits);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
      done.abort();
    }
  }

  return {
    apiKey: ApiKey.Fetch,
    // v4 is the first version whose clients read magic v2 batches.
    minVersion: 4,
    maxVersion: 17,
    async handle(request: FetchRequest, context: RequestContext): Promise<FetchResponse> {
      const version = context.apiVersion;
      const sessionless = { throttleTimeMs: 0, sessionId: 0 };
      if (version >= 7 && request.sessionId !== 0) {
        return { ...sessionless, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, responses: [] };
      }
      const topics = await resolve(request, version);
      const maxBytes = version >= 3 ? (request.maxBytes ?? 0x7fffffff) : 0x7fffffff;
      const deadline = Date.now() + Math.min(request.maxWaitMs, broker.config.fetchMaxWaitMs);
      for (;;) {
        const { responses, bytes } = await readAll(topics, maxBytes);
        const remaining = deadline - Date.now();
        const errors = responses.some((t) =>
          t.partitions.some((p) => p.errorCode !== ErrorCode.NONE),
        );
        if (bytes >= request.minBytes || errors || remaining <= 0 || context.signal.aborted) {
          return { ...sessionless, errorCode: ErrorCode.NONE, responses };
        }
        await waitForData(topics, remaining, context.signal);
      }
    },
  };
}
