/**
 * A protocol-level Kafka client for tests: sends frames it builds (well-formed with Koppa's codec,
 * or deliberately broken) over a real socket and reads whatever comes back.
 */
import { connect, type Socket } from 'node:net';
import {
  ApiKey,
  apis,
  ErrorCode,
  errorName,
  Reader,
  Writer,
  type FetchRequest,
  type RequestTypes,
  type ResponseTypes,
} from '../../plugins/kafka/protocol/index.js';
import { encodeRequestHeader } from '../../plugins/kafka/protocol/generated/request-header.js';

export function encodeRequestFrame<K extends keyof RequestTypes>(
  apiKey: K,
  version: number,
  correlationId: number,
  body: RequestTypes[K],
  clientId = 'raw-test-client',
): Buffer {
  const w = new Writer();
  encodeRequestHeader(w, apis[apiKey].requestHeaderVersion(version), {
    requestApiKey: apiKey,
    requestApiVersion: version,
    correlationId,
    clientId,
  });
  (apis[apiKey].encodeRequest as (w: Writer, v: number, m: RequestTypes[K]) => void)(
    w,
    version,
    body,
  );
  const payload = Buffer.concat(w.finish());
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

/** Decodes a response frame (without its size prefix). */
export function decodeResponseFrame<K extends keyof ResponseTypes>(
  apiKey: K,
  version: number,
  frame: Buffer,
): { correlationId: number; body: ResponseTypes[K] } {
  const r = new Reader(frame);
  const correlationId = r.int32();
  if (apis[apiKey].responseHeaderVersion(version) >= 1) r.skipTaggedFields();
  return { correlationId, body: apis[apiKey].decodeResponse(r, version) as ResponseTypes[K] };
}

export class RawConnection {
  private buffered = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(
    private readonly socket: Socket,
    /** The client id the requests of `request` carry. */
    readonly clientId: string,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static open(
    port: number,
    host = '127.0.0.1',
    clientId = 'raw-test-client',
  ): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => resolve(new RawConnection(socket, clientId)));
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next response frame, or null if the broker closed the connection first. */
  async readFrame(timeoutMs = 5000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length >= 4 + size) {
          const frame = this.buffered.subarray(4, 4 + size);
          this.buffered = this.buffered.subarray(4 + size);
          return frame;
        }
      }
      if (this.closed) return null;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error('timed out waiting for a response frame');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves true when the broker closes the connection within the time limit. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.closed;
  }

  async request<K extends keyof RequestTypes & keyof ResponseTypes>(
    apiKey: K,
    version: number,
    body: RequestTypes[K],
    correlationId = 1,
    /** How long to wait for the answer (a JoinGroup waits for the rebalance). */
    timeoutMs = 5000,
  ) {
    this.write(encodeRequestFrame(apiKey, version, correlationId, body, this.clientId));
    const frame = await this.readFrame(timeoutMs);
    if (!frame) throw new Error('connection closed instead of a response');
    return decodeResponseFrame(apiKey, version, frame);
  }

  /** CreateTopics v7 of one topic with the broker's defaults; its error code (0: created). */
  async createTopic(name: string, numPartitions: number): Promise<number> {
    const { body } = await this.request(ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions, replicationFactor: -1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    return body.topics[0].errorCode;
  }

  /** Fetch v12 of one partition from `fetchOffset`, answered at once; the partition's answer. */
  async fetchPartition(topic: string, partition: number, fetchOffset: number, maxBytes = 64 << 20) {
    const request = fetchRequest(topic, [{ partition, fetchOffset }], { maxBytes });
    const { body } = await this.request(ApiKey.Fetch, 12, request);
    return body.responses[0].partitions[0];
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** Where a broker takes connections, as Metadata and FindCoordinator name it. */
export interface Endpoint {
  host: string;
  port: number;
}

/** Errors a client retries after a moment: the answer is not known yet. */
const RETRIABLE = new Set<number>([
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

/**
 * Asks the broker on `port` with `ask` (a fresh connection each time) until it answers without a
 * retriable error, as a client does; throws on any other error.
 */
async function askUntilKnown(
  port: number,
  what: string,
  ask: (conn: RawConnection) => Promise<{ errorCode: number; endpoint?: Endpoint }>,
  timeoutMs = 10_000,
): Promise<Endpoint> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const conn = await RawConnection.open(port);
    const answer = await ask(conn).finally(() => conn.close());
    if (answer.errorCode === 0 && answer.endpoint) return answer.endpoint;
    if (!RETRIABLE.has(answer.errorCode) || Date.now() > deadline)
      throw new Error(`${what}: ${errorName(answer.errorCode)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The coordinator of `group`, as the broker on `port` answers FindCoordinator (v3). */
export function coordinatorOf(port: number, group: string): Promise<Endpoint> {
  return askUntilKnown(port, `FindCoordinator ${group}`, async (conn) => {
    const { body } = await conn.request(ApiKey.FindCoordinator, 3, { key: group, keyType: 0 });
    return { errorCode: body.errorCode!, endpoint: { host: body.host!, port: body.port! } };
  });
}

/** The leader of `topic` `partition`, from the Metadata (v12) of the broker on `port`. */
export function leaderOf(port: number, topic: string, partition: number): Promise<Endpoint> {
  return askUntilKnown(port, `the leader of ${topic}[${partition}]`, async (conn) => {
    const { body } = await conn.request(ApiKey.Metadata, 12, {
      topics: [{ name: topic }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    const t = body.topics[0];
    const p = t.partitions.find((x) => x.partitionIndex === partition);
    if (t.errorCode || !p)
      return { errorCode: t.errorCode || ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
    const leader = body.brokers.find((b) => b.nodeId === p.leaderId);
    return {
      errorCode: p.errorCode || (leader ? 0 : ErrorCode.LEADER_NOT_AVAILABLE),
      endpoint: leader,
    };
  });
}

/** A connection to the coordinator of `group`, found through the broker on `port`. */
export async function openCoordinator(port: number, group: string): Promise<RawConnection> {
  const { host, port: at } = await coordinatorOf(port, group);
  return RawConnection.open(at, host);
}

/** A connection to the leader of `topic` `partition`, found through the broker on `port`. */
export async function openLeader(
  port: number,
  topic: string,
  partition: number,
): Promise<RawConnection> {
  const { host, port: at } = await leaderOf(port, topic, partition);
  return RawConnection.open(at, host);
}

/** A Fetch request (v12 fields) for some partitions of one topic, from the offsets given. */
export function fetchRequest(
  topic: string,
  partitions: { partition: number; fetchOffset: number }[],
  o: { maxWaitMs?: number; minBytes?: number; maxBytes?: number; partitionMaxBytes?: number } = {},
): FetchRequest {
  const maxBytes = o.maxBytes ?? 64 << 20;
  return {
    replicaId: -1,
    maxWaitMs: o.maxWaitMs ?? 0,
    minBytes: o.minBytes ?? 0,
    maxBytes,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topic,
        partitions: partitions.map(({ partition, fetchOffset }) => ({
          partition,
          currentLeaderEpoch: -1,
          fetchOffset,
          lastFetchedEpoch: -1,
          logStartOffset: -1,
          partitionMaxBytes: o.partitionMaxBytes ?? maxBytes,
        })),
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  };
}
