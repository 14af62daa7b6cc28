/**
 * Partition log positions (start and end offsets, batch timestamps at given offsets) read where
 * the partitions live. The owner answers for its own partitions at LOG_POSITIONS_PATH from the
 * logs it has open; the reader asks every owner once per call with all of its partitions (in
 * several requests only when they would not fit one body), reads this broker's own directly, and
 * turns whatever fails into an `error` entry, never a rejection.
 */
import {
  HttpError,
  LogClosedError,
  FencedError,
  type ClusterView,
  type HttpRoutes,
  type PeerClient,
} from '../../../src/api/index.js';
import { ownedPartition } from '../partitions/partition-errors.js';
import type { PartitionManager } from '../partitions/partition-manager.js';
import { ErrorCode, errorName } from '../protocol/index.js';
import {
  LOG_POSITIONS_PATH,
  type LogPositions,
  type LogPositionsQuery,
  type LogPositionsReader,
} from './types.js';

/** Why an entry has no positions (LogPositions.error). */
export const PositionsError = {
  /** The broker asked does not own the partition (any more): ownership moved meanwhile. */
  NOT_OWNER: 'NOT_OWNER',
  /** Nobody owns the partition now (its owner left and no one has taken it over yet). */
  NO_OWNER: 'NO_OWNER',
  /** The topic does not exist (any more), or has no such partition. */
  UNKNOWN_TOPIC_OR_PARTITION: 'UNKNOWN_TOPIC_OR_PARTITION',
  /** The owner could not read the log. */
  STORAGE_ERROR: 'KAFKA_STORAGE_ERROR',
  /** The owner did not answer (in time), or answered something unreadable. */
  OWNER_UNREACHABLE: 'OWNER_UNREACHABLE',
} as const;

/** What LOG_POSITIONS_PATH takes and answers. */
export interface LogPositionsRequest {
  partitions: LogPositionsQuery[];
}
export interface LogPositionsResponse {
  partitions: LogPositions[];
}

/**
 * The most JSON one request to an owner carries: the reader splits larger reads into several
 * requests, one after the other, well under the HTTP server's body limit (fastify's 1 MiB).
 */
export const MAX_REQUEST_BODY_BYTES = 256 * 1024;
/** How long the reader waits for another owner by default. */
export const DEFAULT_PEER_TIMEOUT_MS = 5000;

/** This broker's answers for the partitions it owns; the others are NOT_OWNER. */
export class OwnedLogPositions implements LogPositionsReader {
  constructor(
    private readonly partitions: PartitionManager,
    private readonly cluster: ClusterView,
  ) {}

  read(queries: LogPositionsQuery[]): Promise<LogPositions[]> {
    return Promise.all(queries.map((query) => this.readOne(query)));
  }

  private async readOne({ topic, partition, timestampsAt }: LogPositionsQuery) {
    const failed = (error: string): LogPositions => ({ topic, partition, error });
    const owned = await ownedPartition(
      this.partitions,
      this.cluster,
      topic,
      partition,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    if (typeof owned === 'number') return failed(positionsErrorOf(owned));
    const { log } = owned;
    try {
      const timestamps: Record<string, number | null> = {};
      for (const offset of timestampsAt ?? []) {
        // Below the log start (retention removed what the group had not read), the oldest
        // message not consumed is the log's first: its age is how far behind the group is.
        const at = Math.max(offset, log.logStartOffset());
        timestamps[String(offset)] = (await log.batchHeaderAt(at))?.firstTimestamp ?? null;
      }
      // Read after the timestamps, so that an offset the timestamps found is below the end.
      const positions: LogPositions = {
        topic,
        partition,
        logStartOffset: log.logStartOffset(),
        logEndOffset: log.logEndOffset(),
        sizeBytes: log.sizeInBytes(),
      };
      if (timestampsAt !== undefined) positions.timestamps = timestamps;
      return positions;
    } catch (err) {
      // Closed or fenced under the read: the partition moved (or its topic went).
      if (err instanceof LogClosedError || err instanceof FencedError) {
        return failed(
          this.partitions.exists(topic, partition)
            ? PositionsError.NOT_OWNER
            : PositionsError.UNKNOWN_TOPIC_OR_PARTITION,
        );
      }
      return failed(PositionsError.STORAGE_ERROR);
    }
  }
}

function positionsErrorOf(code: number): string {
  switch (code) {
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.LEADER_NOT_AVAILABLE:
      return PositionsError.NOT_OWNER;
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      return PositionsError.UNKNOWN_TOPIC_OR_PARTITION;
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return PositionsError.STORAGE_ERROR;
    default:
      return errorName(code);
  }
}

/** Adds LOG_POSITIONS_PATH, answered from `owned`; a malformed body is a 400. */
export function addLogPositionsRoute(routes: HttpRoutes, owned: OwnedLogPositions): void {
  routes.post(LOG_POSITIONS_PATH, async (request): Promise<LogPositionsResponse> => {
    return { partitions: await owned.read(parseQueries(request.body)) };
  });
}

/** The queries of a request body; HttpError 400 when it is not `{ partitions: [...] }`. */
export function parseQueries(body: unknown): LogPositionsQuery[] {
  const partitions = (body as { partitions?: unknown } | null)?.partitions;
  if (!Array.isArray(partitions)) throw new HttpError(400, 'expected { partitions: [...] }');
  return partitions.map((entry: unknown, i): LogPositionsQuery => {
    const { topic, partition, timestampsAt } = (entry ?? {}) as Record<string, unknown>;
    if (typeof topic !== 'string' || !isOffset(partition)) {
      throw new HttpError(400, `partitions[${i}]: expected { topic: string, partition: number }`);
    }
    if (timestampsAt === undefined) return { topic, partition };
    if (!Array.isArray(timestampsAt) || !timestampsAt.every(isOffset)) {
      throw new HttpError(400, `partitions[${i}].timestampsAt: expected offsets`);
    }
    return { topic, partition, timestampsAt };
  });
}

function isOffset(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export interface ClusterLogPositionsOptions {
  cluster: ClusterView;
  peers: PeerClient;
  /** This broker's own partitions (OwnedLogPositions). */
  owned: LogPositionsReader;
  /** How long one call waits for another owner; default DEFAULT_PEER_TIMEOUT_MS. */
  peerTimeoutMs?: number;
}

/** Reads positions anywhere in the cluster: one request per other owner, in parallel. */
export class ClusterLogPositions implements LogPositionsReader {
  constructor(private readonly options: ClusterLogPositionsOptions) {}

  async read(queries: LogPositionsQuery[]): Promise<LogPositions[]> {
    const { cluster } = this.options;
    const answers: LogPositions[] = new Array<LogPositions>(queries.length);
    // By owner: the queries' indexes, so that answers go back in query order.
    const byOwner = new Map<number, number[]>();
    queries.forEach((query, i) => {
      const owner = cluster.ownerOf({ topic: query.topic, partition: query.partition });
      if (owner === null) {
        answers[i] = {
          topic: query.topic,
          partition: query.partition,
          error: PositionsError.NO_OWNER,
        };
        return;
      }
      const indexes = byOwner.get(owner.brokerId);
      if (indexes) indexes.push(i);
      else byOwner.set(owner.brokerId, [i]);
    });
    await Promise.all(
      [...byOwner].map(async ([brokerId, indexes]) => {
        const asked = indexes.map((i) => queries[i]);
        const answered = await this.ask(brokerId, asked);
        indexes.forEach((queryIndex, j) => (answers[queryIndex] = answered[j]));
      }),
    );
    return answers;
  }

  /** One owner's answers for `queries`, in their order; failures become error entries. */
  private async ask(brokerId: number, queries: LogPositionsQuery[]): Promise<LogPositions[]> {
    if (brokerId === this.options.cluster.brokerId) return this.options.owned.read(queries);
    const answers: LogPositions[] = [];
    for (const chunk of requestChunks(queries))
      answers.push(...(await this.askPeer(brokerId, chunk)));
    return answers;
  }

  private async askPeer(brokerId: number, queries: LogPositionsQuery[]): Promise<LogPositions[]> {
    const unreachable = (why: string): LogPositions[] =>
      queries.map(({ topic, partition }) => ({
        topic,
        partition,
        error: `${PositionsError.OWNER_UNREACHABLE}: ${why}`,
      }));
    let response: LogPositionsResponse;
    try {
      response = await this.options.peers.request<LogPositionsResponse>(
        brokerId,
        LOG_POSITIONS_PATH,
        {
          body: { partitions: queries } satisfies LogPositionsRequest,
          timeoutMs: this.options.peerTimeoutMs ?? DEFAULT_PEER_TIMEOUT_MS,
        },
      );
    } catch (err) {
      return unreachable((err as Error).message);
    }
    const answered = response?.partitions;
    if (!Array.isArray(answered) || answered.length !== queries.length) {
      return unreachable(`broker ${brokerId} answered ${LOG_POSITIONS_PATH} unreadably`);
    }
    // Owners answer in query order; an entry for another partition is not taken on trust.
    return queries.map(({ topic, partition }, i) => {
      const entry = answered[i] as LogPositions | null;
      return entry?.topic === topic && entry.partition === partition
        ? entry
        : { topic, partition, error: `${PositionsError.OWNER_UNREACHABLE}: answer out of order` };
    });
  }
}

/** `queries` in runs whose JSON stays under MAX_REQUEST_BODY_BYTES (each run one at least). */
export function* requestChunks(queries: LogPositionsQuery[]): Generator<LogPositionsQuery[]> {
  let chunk: LogPositionsQuery[] = [];
  let bytes = 0;
  for (const query of queries) {
    // The query's JSON and its comma; the topic name counts in UTF-8 bytes.
    const size =
      Buffer.byteLength(query.topic) + 40 + (query.timestampsAt?.join(',').length ?? 0) + 20;
    if (chunk.length > 0 && bytes + size > MAX_REQUEST_BODY_BYTES) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(query);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}
