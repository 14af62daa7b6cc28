/**
 * Interop with kafkajs 2.x (classic, non-flexible versions): requests framed by kafkajs's own
 * encoders are decoded by our codec, and our responses are decoded by kafkajs's decoders.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  ApiKey,
  apis,
  decodeRequestHeader,
  lookupApi,
  Reader,
  Writer,
  type ApiKeyNumber,
  type ResponseTypes,
} from '../../../plugins/kafka/protocol/index.js';

const load = createRequire(import.meta.url);

interface KafkajsRequest {
  apiKey: number;
  apiVersion: number;
  encode(): Promise<unknown>;
}
type RequestFactory = (args: Record<string, unknown>) => KafkajsRequest;
type ResponseDecoder = { decode(body: Buffer): Promise<Record<string, unknown>> };
type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const frameRequest = load('kafkajs/src/protocol/request.js') as (args: {
  correlationId: number;
  clientId: string;
  request: KafkajsRequest;
}) => Promise<{ buffer: Buffer }>;

const kafkajs = (api: string, version: number) => ({
  request: load(`kafkajs/src/protocol/requests/${api}/v${version}/request.js`) as RequestFactory,
  response: load(`kafkajs/src/protocol/requests/${api}/v${version}/response.js`) as ResponseDecoder,
});

/** kafkajs frames the request; we read size, header and body, and must use every byte. */
async function decodeKafkajsRequest(api: string, version: number, args: Record<string, unknown>) {
  const request = kafkajs(api, version).request(args);
  const { buffer } = await frameRequest({ correlationId: 42, clientId: 'kafkajs-test', request });
  const r = new Reader(buffer);
  expect(r.int32()).toBe(buffer.length - 4);
  const header = decodeRequestHeader(r);
  expect(header).toMatchObject({
    apiKey: request.apiKey,
    apiVersion: version,
    correlationId: 42,
    clientId: 'kafkajs-test',
    supported: true,
  });
  const body = lookupApi(header.apiKey)!.decodeRequest(r, version) as Any;
  expect(r.remaining).toBe(0);
  return body;
}

/** We encode a response body; kafkajs decodes it. */
async function decodeOurResponse<K extends ApiKeyNumber>(
  apiKey: K,
  api: string,
  version: number,
  m: ResponseTypes[K],
): Promise<Any> {
  const w = new Writer();
  apis[apiKey].encodeResponse(w, version, m);
  return kafkajs(api, version).response.decode(w.toBuffer());
}

const range = (lo: number, hi: number): number[] =>
  Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

const produceArgs = (v: number) => ({
  acks: -1,
  timeout: 30000,
  compression: 0,
  transactionalId: v >= 3 ? 'tx-1' : undefined,
  topicData: [
    {
      topic: 'orders',
      partitions: [{ partition: 2, firstSequence: 0, messages: [{ key: 'k1', value: 'v1' }] }],
    },
  ],
});

/** A record batch built by kafkajs (taken from its produce v3 request), for fetch responses. */
async function kafkajsBatch(): Promise<Buffer> {
  const body = await decodeKafkajsRequest('produce', 3, produceArgs(3));
  return body.topicData[0].partitionData[0].records;
}

describe('kafkajs requests decode with our codec, our responses decode with kafkajs', () => {
  it.each(range(0, 7))('Produce v%i', async (v) => {
    const body = await decodeKafkajsRequest('produce', v, produceArgs(v));
    expect(body).toMatchObject({ acks: -1, timeoutMs: 30000 });
    if (v >= 3) expect(body.transactionalId).toBe('tx-1');
    const part = body.topicData[0].partitionData[0];
    expect(body.topicData[0].name).toBe('orders');
    expect(part.index).toBe(2);
    // The magic byte sits at offset 16 in message sets and record batches alike.
    expect(part.records[16]).toBe(v >= 3 ? 2 : v === 2 ? 1 : 0);

    const res = await decodeOurResponse(ApiKey.Produce, 'produce', v, {
      responses: [
        {
          name: 'orders',
          partitionResponses: [
            {
              index: 2,
              errorCode: 0,
              baseOffset: 12345678901,
              logAppendTimeMs: 1700000000123,
              logStartOffset: 5,
            },
          ],
        },
      ],
      throttleTimeMs: 7,
    });
    const p = res.topics[0].partitions[0];
    expect(res.topics[0].topicName).toBe('orders');
    expect(p).toMatchObject({ partition: 2, errorCode: 0 });
    expect(p.offset ?? p.baseOffset).toBe('12345678901');
    if (v >= 2) expect(p.timestamp ?? p.logAppendTime).toBe('1700000000123');
    if (v >= 5) expect(p.logStartOffset).toBe('5');
    if (v >= 1) expect(res.clientSideThrottleTime ?? res.throttleTime).toBe(7);
  });

  it.each(range(0, 11))('Fetch v%i', async (v) => {
    const body = await decodeKafkajsRequest('fetch', v, {
      replicaId: -1,
      maxWaitTime: 500,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      rackId: 'rack-a',
      topics: [
        {
          topic: 'orders',
          partitions: [
            {
              partition: 3,
              fetchOffset: '9007199254740000',
              maxBytes: 1048576,
              currentLeaderEpoch: 4,
            },
          ],
        },
      ],
    });
    expect(body).toMatchObject({ replicaId: -1, maxWaitMs: 500, minBytes: 1 });
    if (v >= 3) expect(body.maxBytes).toBe(10485760);
    if (v >= 4) expect(body.isolationLevel).toBe(1);
    if (v >= 11) expect(body.rackId).toBe('rack-a');
    expect(body.topics[0].topic).toBe('orders');
    expect(body.topics[0].partitions[0]).toMatchObject({
      partition: 3,
      fetchOffset: 9007199254740000,
      partitionMaxBytes: 1048576,
    });
    if (v >= 9) expect(body.topics[0].partitions[0].currentLeaderEpoch).toBe(4);

    // Messages in the response must be a record batch for v4+ (kafkajs reads magic 2 there).
    const records = v >= 4 ? await kafkajsBatch() : Buffer.alloc(0);
    const res = await decodeOurResponse(ApiKey.Fetch, 'fetch', v, {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 77,
      responses: [
        {
          topic: 'orders',
          partitions: [
            {
              partitionIndex: 3,
              errorCode: 0,
              highWatermark: 100,
              lastStableOffset: 90,
              logStartOffset: 1,
              abortedTransactions: [{ producerId: 1234, firstOffset: 50 }],
              preferredReadReplica: -1,
              records,
            },
          ],
        },
      ],
    });
    const p = res.responses[0].partitions[0];
    expect(res.responses[0].topicName).toBe('orders');
    expect(p).toMatchObject({ partition: 3, errorCode: 0, highWatermark: '100' });
    if (v >= 4) {
      expect(p.lastStableOffset).toBe('90');
      expect(p.abortedTransactions).toEqual([{ producerId: '1234', firstOffset: '50' }]);
      expect(p.messages).toHaveLength(1);
      expect(p.messages[0].key.toString()).toBe('k1');
      expect(p.messages[0].value.toString()).toBe('v1');
    }
    if (v >= 7) expect(res.sessionId).toBe(77);
  });

  it.each(range(0, 6))('Metadata v%i', async (v) => {
    const body = await decodeKafkajsRequest('metadata', v, {
      topics: ['orders', 'payments'],
      allowAutoTopicCreation: false,
    });
    expect(body.topics.map((t: Any) => t.name)).toEqual(['orders', 'payments']);
    expect(body.allowAutoTopicCreation).toBe(v >= 4 ? false : true);

    const res = await decodeOurResponse(ApiKey.Metadata, 'metadata', v, {
      throttleTimeMs: 3,
      brokers: [{ nodeId: 1, host: 'broker-1', port: 9092, rack: 'r1' }],
      clusterId: 'cluster-x',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 'orders',
          isInternal: false,
          partitions: [
            {
              errorCode: 0,
              partitionIndex: 0,
              leaderId: 1,
              leaderEpoch: 5,
              replicaNodes: [1, 2],
              isrNodes: [1],
              offlineReplicas: [2],
            },
          ],
        },
      ],
    });
    expect(res.brokers[0]).toMatchObject({ nodeId: 1, host: 'broker-1', port: 9092 });
    if (v >= 1) expect(res.brokers[0].rack).toBe('r1');
    if (v >= 1) expect(res.controllerId).toBe(1);
    if (v >= 2) expect(res.clusterId).toBe('cluster-x');
    const t = res.topicMetadata[0];
    expect(t).toMatchObject({ topicErrorCode: 0, topic: 'orders' });
    expect(t.partitionMetadata[0]).toMatchObject({
      partitionId: 0,
      leader: 1,
      replicas: [1, 2],
      isr: [1],
    });
    if (v >= 5) expect(t.partitionMetadata[0].offlineReplicas).toEqual([2]);
  });

  it.each(range(0, 2))('ApiVersions v%i', async (v) => {
    const body = await decodeKafkajsRequest('apiVersions', v, {});
    expect(body).toEqual({ clientSoftwareName: '', clientSoftwareVersion: '' });
    const res = await decodeOurResponse(ApiKey.ApiVersions, 'apiVersions', v, {
      errorCode: 0,
      apiKeys: [
        { apiKey: 0, minVersion: 0, maxVersion: 11 },
        { apiKey: 18, minVersion: 0, maxVersion: 4 },
      ],
      throttleTimeMs: 9,
    });
    expect(res.errorCode).toBe(0);
    expect(res.apiVersions).toEqual([
      { apiKey: 0, minVersion: 0, maxVersion: 11 },
      { apiKey: 18, minVersion: 0, maxVersion: 4 },
    ]);
    if (v >= 1) expect(res.clientSideThrottleTime ?? res.throttleTime).toBe(9);
  });

  it.each(range(0, 3))('ListOffsets v%i', async (v) => {
    const body = await decodeKafkajsRequest('listOffsets', v, {
      replicaId: -1,
      isolationLevel: 1,
      topics: [{ topic: 'orders', partitions: [{ partition: 1, timestamp: -2 }] }],
    });
    expect(body.replicaId).toBe(-1);
    if (v >= 2) expect(body.isolationLevel).toBe(1);
    expect(body.topics[0].name).toBe('orders');
    expect(body.topics[0].partitions[0]).toMatchObject({ partitionIndex: 1, timestamp: -2 });
    if (v === 0) expect(body.topics[0].partitions[0].maxNumOffsets).toBe(1);

    const res = await decodeOurResponse(ApiKey.ListOffsets, 'listOffsets', v, {
      throttleTimeMs: 0,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 1, errorCode: 0, oldStyleOffsets: [42], timestamp: -1, offset: 42 },
          ],
        },
      ],
    });
    const p = res.responses[0].partitions[0];
    expect(res.responses[0].topic).toBe('orders');
    expect(p).toMatchObject({ partition: 1, errorCode: 0 });
    if (v === 0) expect(p.offsets).toEqual(['42']);
    else expect(p).toMatchObject({ timestamp: '-1', offset: '42' });
  });

  it.each(range(0, 3))('CreateTopics v%i', async (v) => {
    const body = await decodeKafkajsRequest('createTopics', v, {
      timeout: 5000,
      validateOnly: true,
      topics: [
        {
          topic: 'new-topic',
          numPartitions: 3,
          replicationFactor: 1,
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
    });
    expect(body.timeoutMs).toBe(5000);
    if (v >= 1) expect(body.validateOnly).toBe(true);
    expect(body.topics[0]).toMatchObject({
      name: 'new-topic',
      numPartitions: 3,
      replicationFactor: 1,
      assignments: [],
      configs: [{ name: 'cleanup.policy', value: 'compact' }],
    });

    const res = await decodeOurResponse(ApiKey.CreateTopics, 'createTopics', v, {
      throttleTimeMs: 0,
      topics: [{ name: 'new-topic', errorCode: 36, errorMessage: 'exists' }],
    });
    expect(res.topicErrors[0]).toMatchObject({ topic: 'new-topic', errorCode: 36 });
    if (v >= 1) expect(res.topicErrors[0].errorMessage).toBe('exists');
  });

  it.each(range(0, 2))('FindCoordinator v%i', async (v) => {
    const body = await decodeKafkajsRequest(
      'findCoordinator',
      v,
      v === 0 ? { groupId: 'group-1' } : { coordinatorKey: 'group-1', coordinatorType: 1 },
    );
    expect(body.key).toBe('group-1');
    expect(body.keyType).toBe(v === 0 ? 0 : 1);

    const res = await decodeOurResponse(ApiKey.FindCoordinator, 'findCoordinator', v, {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      nodeId: 3,
      host: 'broker-3',
      port: 9094,
    });
    expect(res.errorCode).toBe(0);
    expect(res.coordinator).toEqual({ nodeId: 3, host: 'broker-3', port: 9094 });
  });

  it.each(range(0, 5))('JoinGroup v%i', async (v) => {
    const body = await decodeKafkajsRequest('joinGroup', v, {
      groupId: 'group-1',
      sessionTimeout: 30000,
      rebalanceTimeout: 60000,
      memberId: '',
      groupInstanceId: 'instance-1',
      protocolType: 'consumer',
      groupProtocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1, 2]) }],
    });
    expect(body).toMatchObject({
      groupId: 'group-1',
      sessionTimeoutMs: 30000,
      memberId: '',
      protocolType: 'consumer',
    });
    expect(body.rebalanceTimeoutMs).toBe(v >= 1 ? 60000 : -1);
    if (v >= 5) expect(body.groupInstanceId).toBe('instance-1');
    expect(body.protocols[0].name).toBe('RoundRobinAssigner');
    expect(body.protocols[0].metadata.equals(Buffer.from([0, 1, 2]))).toBe(true);

    const res = await decodeOurResponse(ApiKey.JoinGroup, 'joinGroup', v, {
      errorCode: 0,
      generationId: 4,
      protocolName: 'RoundRobinAssigner',
      leader: 'member-1',
      memberId: 'member-2',
      members: [
        { memberId: 'member-1', groupInstanceId: 'instance-1', metadata: Buffer.from([9]) },
      ],
    });
    expect(res).toMatchObject({
      errorCode: 0,
      generationId: 4,
      groupProtocol: 'RoundRobinAssigner',
      leaderId: 'member-1',
      memberId: 'member-2',
    });
    expect(res.members[0].memberId).toBe('member-1');
    expect(res.members[0].memberMetadata.equals(Buffer.from([9]))).toBe(true);
    if (v >= 5) expect(res.members[0].groupInstanceId).toBe('instance-1');
  });

  it.each(range(0, 3))('SyncGroup v%i', async (v) => {
    const body = await decodeKafkajsRequest('syncGroup', v, {
      groupId: 'group-1',
      generationId: 4,
      memberId: 'member-1',
      groupInstanceId: 'instance-1',
      groupAssignment: [{ memberId: 'member-1', memberAssignment: Buffer.from([1, 2, 3]) }],
    });
    expect(body).toMatchObject({ groupId: 'group-1', generationId: 4, memberId: 'member-1' });
    if (v >= 3) expect(body.groupInstanceId).toBe('instance-1');
    expect(body.assignments[0].memberId).toBe('member-1');
    expect(body.assignments[0].assignment.equals(Buffer.from([1, 2, 3]))).toBe(true);

    const res = await decodeOurResponse(ApiKey.SyncGroup, 'syncGroup', v, {
      errorCode: 0,
      assignment: Buffer.from([7, 7]),
    });
    expect(res.errorCode).toBe(0);
    expect(res.memberAssignment.equals(Buffer.from([7, 7]))).toBe(true);
  });

  it.each(range(0, 3))('Heartbeat v%i', async (v) => {
    const body = await decodeKafkajsRequest('heartbeat', v, {
      groupId: 'group-1',
      groupGenerationId: 4,
      memberId: 'member-1',
      groupInstanceId: null,
    });
    expect(body).toMatchObject({ groupId: 'group-1', generationId: 4, memberId: 'member-1' });
    if (v >= 3) expect(body.groupInstanceId).toBeNull();

    const res = await decodeOurResponse(ApiKey.Heartbeat, 'heartbeat', v, {
      errorCode: 27,
      throttleTimeMs: 0,
    });
    expect(res.errorCode).toBe(27);
  });

  it.each(range(0, 5))('OffsetCommit v%i', async (v) => {
    const body = await decodeKafkajsRequest('offsetCommit', v, {
      groupId: 'group-1',
      groupGenerationId: 4,
      memberId: 'member-1',
      retentionTime: 86400000,
      topics: [
        {
          topic: 'orders',
          partitions: [
            { partition: 0, offset: '1099511627776', timestamp: 1700000000000, metadata: 'm' },
          ],
        },
      ],
    });
    expect(body.groupId).toBe('group-1');
    if (v >= 1) expect(body).toMatchObject({ generationIdOrMemberEpoch: 4, memberId: 'member-1' });
    if (v >= 2 && v <= 4) expect(body.retentionTimeMs).toBe(86400000);
    expect(body.topics[0].name).toBe('orders');
    expect(body.topics[0].partitions[0]).toMatchObject({
      partitionIndex: 0,
      committedOffset: 1099511627776,
      committedMetadata: 'm',
    });
    if (v === 1) expect(body.topics[0].partitions[0].commitTimestamp).toBe(1700000000000);

    const res = await decodeOurResponse(ApiKey.OffsetCommit, 'offsetCommit', v, {
      throttleTimeMs: 0,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0 }] }],
    });
    expect(res.responses).toEqual([
      { topic: 'orders', partitions: [{ partition: 0, errorCode: 0 }] },
    ]);
  });

  it.each(range(1, 4))('OffsetFetch v%i', async (v) => {
    const body = await decodeKafkajsRequest('offsetFetch', v, {
      groupId: 'group-1',
      topics: [{ topic: 'orders', partitions: [{ partition: 0 }, { partition: 1 }] }],
    });
    expect(body).toMatchObject({
      groupId: 'group-1',
      topics: [{ name: 'orders', partitionIndexes: [0, 1] }],
    });

    const res = await decodeOurResponse(ApiKey.OffsetFetch, 'offsetFetch', v, {
      throttleTimeMs: 0,
      errorCode: 0,
      topics: [
        {
          name: 'orders',
          partitions: [{ partitionIndex: 0, committedOffset: 55, metadata: '', errorCode: 0 }],
        },
      ],
    });
    expect(res.responses[0].topic).toBe('orders');
    expect(res.responses[0].partitions[0]).toEqual({
      partition: 0,
      offset: '55',
      metadata: '',
      errorCode: 0,
    });
    if (v >= 2) expect(res.errorCode).toBe(0);
  });
});
