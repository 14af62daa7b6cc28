/**
 * Fetch: whole stored batches, straight from the store to the socket (no copy, no per-record
 * work), with Kafka's byte budgets (KIP-74: the first non-empty partition returns at least one
 * whole batch; both budgets capped by the broker's fetchMaxBytes) and long polling until min
 * bytes arrive or max wait passes. Fetch sessions (KIP-227) are not kept: every answer has
 * session id 0, so clients send full fetches.
 */
import { setMaxListeners } from 'node:events';
import type { TopicMetadata } from '../../../src/api/index.js';
import type { KafkaBrokerContext } from '../broker-context.js';
import {
  leaderEpochError,
  ownedPartition,
  storageErrorCode,
} from '../partitions/partition-errors.js';
import type { Partition } from '../partitions/partition-manager.js';
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

interface PartitionFetch {
  index: number;
  fetchOffset: number;
  maxBytes: number;
  /** The open partition, or the error to answer with. */
  partition: Partition | number;
}

interface TopicFetch {
  name: string;
  topicId: Buffer;
  partitions: PartitionFetch[];
}

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

export function fetchHandler(broker: KafkaBrokerContext): ApiHandler<typeof ApiKey.Fetch> {
  const { partitions, topicService } = broker;

  async function resolve(request: FetchRequest, version: number): Promise<TopicFetch[]> {
    return Promise.all(
      request.topics.map(async (t): Promise<TopicFetch> => {
        // v13+ names topics by id: an unknown id is UNKNOWN_TOPIC_ID, an unknown partition of a
        // known topic is still UNKNOWN_TOPIC_OR_PARTITION.
        const topic: TopicMetadata | undefined =
          version >= 13
            ? broker.topics.getById(t.topicId ?? ZERO_UUID)
            : topicService.find(t.topic ?? '');
        const missing =
          topic || version < 13 ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.UNKNOWN_TOPIC_ID;
        return {
          name: t.topic ?? '',
          topicId: t.topicId ?? ZERO_UUID,
          partitions: await Promise.all(
            t.partitions.map(async (p): Promise<PartitionFetch> => {
              let partition = await ownedPartition(
                partitions,
                broker.host.cluster,
                topic?.name,
                p.partition,
                missing,
              );
              if (typeof partition !== 'number') {
                partition =
                  leaderEpochError(p.currentLeaderEpoch ?? -1, partition.epoch) ?? partition;
              }
              const maxBytes = Math.min(p.partitionMaxBytes, broker.config.fetchMaxBytes);
              return { index: p.partition, fetchOffset: p.fetchOffset, maxBytes, partition };
            }),
          ),
        };
      }),
    );
  }

  /** One pass over every partition within the byte budget. */
  async function readAll(topics: TopicFetch[], maxBytes: number, context: RequestContext) {
    let bytes = 0;
    let errors = false;
    const responses: TopicResult[] = [];
    /** The partitions that returned records, for the metrics if this pass is the answer. */
    const served: { partition: Partition; records: Buffer }[] = [];
    for (const t of topics) {
      const results: PartitionResult[] = [];
      for (const p of t.partitions) {
        const { partition } = p;
        if (typeof partition === 'number') {
          errors = true;
          results.push(partitionResult(p.index, partition));
          continue;
        }
        if (partition.closed || partition.log.isFenced()) {
          // While the request waited, the topic was deleted, or ownership moved (the client then
          // asks the new leader), or another owner claimed the log.
          errors = true;
          const gone = !partitions.exists(partition.topic, p.index);
          results.push(
            partitionResult(
              p.index,
              gone ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.NOT_LEADER_OR_FOLLOWER,
            ),
          );
          continue;
        }
        const budget = Math.min(p.maxBytes, maxBytes - bytes);
        if (budget <= 0 && bytes > 0) {
          results.push(partitionResult(p.index, ErrorCode.NONE, partition));
          continue;
        }
        try {
          const read = await partition.log.read(p.fetchOffset, Math.max(budget, 0), bytes === 0);
          bytes += read.records.length;
          if (read.records.length > 0) served.push({ partition, records: read.records });
          results.push(partitionResult(p.index, ErrorCode.NONE, partition, read.records));
        } catch (err) {
          const errorCode = storageErrorCode(err, partitions.exists(partition.topic, p.index));
          if (errorCode === ErrorCode.KAFKA_STORAGE_ERROR) {
            context.logger.error(
              { err, topic: partition.topic, partition: p.index },
              'read failed',
            );
          }
          errors = true;
          results.push(partitionResult(p.index, errorCode, partition));
        }
      }
      responses.push({ topic: t.name, topicId: t.topicId, partitions: results });
    }
    return { responses, bytes, errors, served };
  }

  /** Counts what an answer returns (not the passes a long poll discarded). */
  function count(served: { partition: Partition; records: Buffer }[], context: RequestContext) {
    if (served.length === 0) return;
    const client = { clientHost: context.clientHost, clientId: context.clientId ?? '' };
    for (const { partition, records } of served) {
      broker.stats.fetch.fetched(
        client,
        context.connectionId,
        partition.topic,
        partition.index,
        records,
      );
    }
  }

  /** Resolves when any fetched partition gets new data, the wait ends, or the request is abandoned. */
  async function waitForData(
    topics: TopicFetch[],
    waitMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    const done = new AbortController();
    // Two listeners per fetched partition (its append wait and its moved-away wait) and one of
    // its own: many partitions are normal, not a leak.
    setMaxListeners(
      topics.reduce((n, t) => n + 2 * t.partitions.length, 1),
      done.signal,
    );
    const stop = () => done.abort();
    const timer = setTimeout(stop, waitMs);
    signal.addEventListener('abort', stop, { once: true });
    try {
      const waits: Promise<void>[] = [
        new Promise((resolve) =>
          done.signal.addEventListener('abort', () => resolve(), { once: true }),
        ),
      ];
      for (const t of topics) {
        for (const { partition, fetchOffset } of t.partitions) {
          if (typeof partition === 'number') continue;
          waits.push(
            new Promise((resolve) => {
              if (partition.movedAway.signal.aborted) resolve();
              else
                partition.movedAway.signal.addEventListener('abort', () => resolve(), {
                  once: true,
                  signal: done.signal,
                });
            }),
          );
          waits.push(
            partition.log
              .waitForAppend(Math.max(fetchOffset, partition.log.logEndOffset()), done.signal)
              // Fenced (another owner claimed the log): the wait is over; readAll says so.
              .catch(() => undefined),
          );
        }
      }
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
      const maxBytes = Math.min(
        request.maxBytes ?? broker.config.fetchMaxBytes,
        broker.config.fetchMaxBytes,
      );
      const deadline = Date.now() + Math.min(request.maxWaitMs, broker.config.fetchMaxWaitMs);
      for (;;) {
        const { responses, bytes, errors, served } = await readAll(topics, maxBytes, context);
        if (
          bytes >= request.minBytes ||
          errors ||
          Date.now() >= deadline ||
          context.signal.aborted
        ) {
          count(served, context);
          return { ...sessionless, errorCode: ErrorCode.NONE, responses };
        }
        await waitForData(topics, deadline - Date.now(), context.signal);
      }
    },
  };
}
