/**
 * Interop with @platformatic/kafka 1.x (mostly flexible versions): its per-API request builders
 * are framed the way its connection frames them and decoded by our codec; our responses, with our
 * response headers, are parsed by its response parsers.
 *
 * Its reader skips a non-empty tagged-field section wrongly (it takes the count for a byte
 * length), so the responses here leave tagged fields at their defaults; our tag encoding is
 * checked against hand-made bytes in vectors.test.ts instead.
 */
import * as pk from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import {
  ApiKey,
  apis,
  decodeRequestHeader,
  encodeResponseHeader,
  lookupApi,
  Reader,
  responseHeaderVersion,
  Writer,
  type ApiKeyNumber,
  type ResponseTypes,
} from '../../../plugins/kafka/protocol/index.js';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type PWriter = InstanceType<typeof pk.Writer>;
interface PlatformaticApi {
  createRequest(...args: unknown[]): PWriter;
  parseResponse(correlationId: number, apiKey: number, apiVersion: number, r: unknown): Any;
}

const api = (name: string): PlatformaticApi =>
  (pk as unknown as Record<string, PlatformaticApi>)[name];

/** Frames a request as @platformatic/kafka's connection does, then decodes it with our codec. */
function decodePlatformaticRequest(apiKey: number, version: number, payload: PWriter): Any {
  const frame = pk.Writer.create()
    .appendInt16(apiKey)
    .appendInt16(version)
    .appendInt32(42)
    .appendString('platformatic-test', false);
  if (apis[apiKey as ApiKeyNumber].requestHeaderVersion(version) === 2) frame.appendTaggedFields();
  frame.appendFrom(payload).prependLength();
  const buf = frame.buffer;
  const r = new Reader(buf);
  expect(r.int32()).toBe(buf.length - 4);
  expect(decodeRequestHeader(r)).toMatchObject({
    apiKey,
    apiVersion: version,
    correlationId: 42,
    clientId: 'platformatic-test',
    supported: true,
  });
  const body = lookupApi(apiKey)!.decodeRequest(r, version) as Any;
  expect(r.remaining).toBe(0);
  return body;
}

/** Encodes header and body with our codec; @platformatic/kafka reads them as its connection does. */
function parseOurResponse<K extends ApiKeyNumber>(
  apiKey: K,
  version: number,
  name: string,
  m: ResponseTypes[K],
): Any {
  const w = new Writer();
  encodeResponseHeader(w, apiKey, version, 42);
  apis[apiKey].encodeResponse(w, version, m);
  const reader = pk.Reader.from(w.toBuffer());
  expect(reader.readInt32()).toBe(42);
  if (responseHeaderVersion(apiKey, version) === 1) reader.readTaggedFields();
  return api(name).parseResponse(42, apiKey, version, reader);
}

const range = (lo: number, hi: number): number[] =>
  Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);

const TOPIC_ID = 'a1b2c3d4-e5f6-4789-8abc-def012345678';
const topicIdBytes = Buffer.from(TOPIC_ID.replace(/-/g, ''), 'hex');

function platformaticProduce(v: number): PWriter {
  return api(`produceV${v}`).createRequest(
    -1,
    30000,
    [{ topic: 'orders', partition: 2, key: Buffer.from('k1'), value: Buffer.from('v1') }],
    { transactionalId: 'tx-1' },
  );
}

describe('@platformatic/kafka requests decode with our codec, our responses parse with it', () => {
  it.each(range(7, 11))('Produce v%i', (v) => {
    const body = decodePlatformaticRequest(ApiKey.Produce, v, platformaticProduce(v));
    expect(body).toMatchObject({ transactionalId: 'tx-1', acks: -1, timeoutMs: 30000 });
    expect(body.topicData[0].name).toBe('orders');
    expect(body.topicData[0].partitionData[0].index).toBe(2);
    expect(body.topicData[0].partitionData[0].records[16]).toBe(2);

    const res = parseOurResponse(ApiKey.Produce, v, `produceV${v}`, {
      responses: [
        {
          name: 'orders',
          partitionResponses: [
            {
              index: 2,
              errorCode: 0,
              baseOffset: 12345678901,
              logAppendTimeMs: -1,
              logStartOffset: 5,
              recordErrors: [],
              errorMessage: null,
            },
          ],
        },
      ],
      throttleTimeMs: 7,
    });
    expect(res.responses[0].name).toBe('orders');
    expect(res.responses[0].partitionResponses[0]).toMatchObject({
      index: 2,
      errorCode: 0,
      baseOffset: 12345678901n,
      logAppendTimeMs: -1n,
      logStartOffset: 5n,
    });
    expect(res.throttleTimeMs).toBe(7);
  });

  it.each(range(12, 17))('Fetch v%i', (v) => {
    const topics = [
      {
        topicId: v >= 13 ? TOPIC_ID : 'orders',
        partitions: [
          {
            partition: 3,
            currentLeaderEpoch: 4,
            fetchOffset: 9007199254740000n,
            lastFetchedEpoch: 2,
            partitionMaxBytes: 1048576,
          },
        ],
      },
    ];
    const body = decodePlatformaticRequest(
      ApiKey.Fetch,
      v,
      api(`fetchV${v}`).createRequest(500, 1, 10485760, 1, 11, 2, topics, [], 'rack-a'),
    );
    expect(body).toMatchObject({
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 10485760,
      isolationLevel: 1,
    });
    expect(body).toMatchObject({ sessionId: 11, sessionEpoch: 2, rackId: 'rack-a' });
    if (v >= 13) expect(body.topics[0].topicId.equals(topicIdBytes)).toBe(true);
    else expect(body.topics[0].topic).toBe('orders');
    expect(body.topics[0].partitions[0]).toMatchObject({
      partition: 3,
      currentLeaderEpoch: 4,
      fetchOffset: 9007199254740000,
      lastFetchedEpoch: 2,
      partitionMaxBytes: 1048576,
    });

    const batch = decodePlatformaticRequest(ApiKey.Produce, 11, platformaticProduce(11))
      .topicData[0].partitionData[0].records as Buffer;
    const res = parseOurResponse(ApiKey.Fetch, v, `fetchV${v}`, {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 11,
      responses: [
        {
          topic: 'orders',
          topicId: topicIdBytes,
          partitions: [
            {
              partitionIndex: 3,
              errorCode: 0,
              highWatermark: 100,
              lastStableOffset: 90,
              logStartOffset: 1,
              abortedTransactions: [{ producerId: 1234, firstOffset: 50 }],
              preferredReadReplica: -1,
              records: batch,
            },
          ],
        },
      ],
    });
    expect(res.sessionId).toBe(11);
    if (v >= 13) expect(res.responses[0].topicId).toBe(TOPIC_ID);
    const p = res.responses[0].partitions[0];
    expect(p).toMatchObject({
      partitionIndex: 3,
      errorCode: 0,
      highWatermark: 100n,
      lastStableOffset: 90n,
    });
    expect(p.abortedTransactions).toEqual([{ producerId: 1234n, firstOffset: 50n }]);
    expect(p.records[0].records[0].value.toString()).toBe('v1');
  });

  it.each(range(9, 12))('Metadata v%i', (v) => {
    // Its v11 request still writes IncludeClusterAuthorizedOperations, which v11 removed.
    if (v !== 11) {
      const body = decodePlatformaticRequest(
        ApiKey.Metadata,
        v,
        api(`metadataV${v}`).createRequest(['orders', 'payments'], true, true),
      );
      expect(body.topics.map((t: Any) => t.name)).toEqual(['orders', 'payments']);
      expect(body).toMatchObject({
        allowAutoTopicCreation: true,
        includeTopicAuthorizedOperations: true,
      });
    }

    const res = parseOurResponse(ApiKey.Metadata, v, `metadataV${v}`, {
      throttleTimeMs: 3,
      brokers: [{ nodeId: 1, host: 'broker-1', port: 9092, rack: null }],
      clusterId: 'cluster-x',
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: 'orders',
          topicId: topicIdBytes,
          isInternal: false,
          partitions: [
            {
              errorCode: 0,
              partitionIndex: 0,
              leaderId: 1,
              leaderEpoch: 5,
              replicaNodes: [1, 2],
              isrNodes: [1],
              offlineReplicas: [],
            },
          ],
          topicAuthorizedOperations: 248,
        },
      ],
    });
    expect(res.brokers).toEqual([{ nodeId: 1, host: 'broker-1', port: 9092, rack: null }]);
    expect(res).toMatchObject({ throttleTimeMs: 3, clusterId: 'cluster-x', controllerId: 1 });
    expect(res.topics[0]).toMatchObject({
      name: 'orders',
      isInternal: false,
      topicAuthorizedOperations: 248,
    });
    if (v >= 10) expect(res.topics[0].topicId).toBe(TOPIC_ID);
    expect(res.topics[0].partitions[0]).toMatchObject({
      leaderId: 1,
      leaderEpoch: 5,
      replicaNodes: [1, 2],
      isrNodes: [1],
    });
  });

  it.each([3, 4])('ApiVersions v%i', (v) => {
    const body = decodePlatformaticRequest(
      ApiKey.ApiVersions,
      v,
      api(`apiVersionsV${v}`).createRequest('platformatic-kafka', '1.35.0'),
    );
    expect(body).toEqual({
      clientSoftwareName: 'platformatic-kafka',
      clientSoftwareVersion: '1.35.0',
    });

    const res = parseOurResponse(ApiKey.ApiVersions, v, `apiVersionsV${v}`, {
      errorCode: 0,
      apiKeys: [{ apiKey: 1, minVersion: 4, maxVersion: 17 }],
      throttleTimeMs: 0,
      finalizedFeaturesEpoch: 3,
    });
    expect(res.apiKeys).toEqual([{ apiKey: 1, name: 'Fetch', minVersion: 4, maxVersion: 17 }]);
  });

  it.each(range(5, 9))('ListOffsets v%i', (v) => {
    const body = decodePlatformaticRequest(
      ApiKey.ListOffsets,
      v,
      api(`listOffsetsV${v}`).createRequest(-1, 1, [
        {
          name: 'orders',
          partitions: [{ partitionIndex: 1, currentLeaderEpoch: 3, timestamp: -1n }],
        },
      ]),
    );
    expect(body).toMatchObject({ replicaId: -1, isolationLevel: 1 });
    expect(body.topics[0].partitions[0]).toMatchObject({
      partitionIndex: 1,
      currentLeaderEpoch: 3,
      timestamp: -1,
    });

    const res = parseOurResponse(ApiKey.ListOffsets, v, `listOffsetsV${v}`, {
      throttleTimeMs: 0,
      topics: [
        {
          name: 'orders',
          partitions: [
            { partitionIndex: 1, errorCode: 0, timestamp: -1, offset: 42, leaderEpoch: 3 },
          ],
        },
      ],
    });
    expect(res.topics[0].partitions[0]).toMatchObject({
      partitionIndex: 1,
      offset: 42n,
      leaderEpoch: 3,
    });
  });

  it('CreateTopics v7', () => {
    const body = decodePlatformaticRequest(
      ApiKey.CreateTopics,
      7,
      api('createTopicsV7').createRequest(
        [
          {
            name: 'new-topic',
            numPartitions: -1,
            replicationFactor: -1,
            assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }],
            configs: [{ name: 'retention.ms', value: null }],
          },
        ],
        5000,
        false,
      ),
    );
    expect(body).toEqual({
      topics: [
        {
          name: 'new-topic',
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }],
          configs: [{ name: 'retention.ms', value: null }],
        },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });

    const res = parseOurResponse(ApiKey.CreateTopics, 7, 'createTopicsV7', {
      throttleTimeMs: 0,
      topics: [
        {
          name: 'new-topic',
          topicId: topicIdBytes,
          errorCode: 0,
          errorMessage: null,
          numPartitions: 3,
          replicationFactor: 1,
          configs: [
            {
              name: 'retention.ms',
              value: '1000',
              readOnly: false,
              configSource: 5,
              isSensitive: false,
            },
          ],
        },
      ],
    });
    expect(res.topics[0]).toMatchObject({ name: 'new-topic', topicId: TOPIC_ID, numPartitions: 3 });
    expect(res.topics[0].configs[0]).toEqual({
      name: 'retention.ms',
      value: '1000',
      readOnly: false,
      configSource: 5,
      isSensitive: false,
    });
  });

  it.each(range(4, 6))('FindCoordinator v%i', (v) => {
    const body = decodePlatformaticRequest(
      ApiKey.FindCoordinator,
      v,
      api(`findCoordinatorV${v}`).createRequest(0, ['group-1', 'group-2']),
    );
    expect(body).toMatchObject({ keyType: 0, coordinatorKeys: ['group-1', 'group-2'] });

    const res = parseOurResponse(ApiKey.FindCoordinator, v, `findCoordinatorV${v}`, {
      throttleTimeMs: 0,
      coordinators: [
        {
          key: 'group-1',
          nodeId: 2,
          host: 'broker-2',
          port: 9093,
          errorCode: 0,
          errorMessage: null,
        },
      ],
    });
    expect(res.coordinators).toEqual([
      { key: 'group-1', nodeId: 2, host: 'broker-2', port: 9093, errorCode: 0, errorMessage: null },
    ]);
  });

  it.each(range(6, 9))('JoinGroup v%i', (v) => {
    const body = decodePlatformaticRequest(
      ApiKey.JoinGroup,
      v,
      api(`joinGroupV${v}`).createRequest(
        'group-1',
        30000,
        60000,
        '',
        null,
        'consumer',
        [{ name: 'roundrobin', metadata: Buffer.from([1, 2]) }],
        'joining',
      ),
    );
    expect(body).toMatchObject({
      groupId: 'group-1',
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: 60000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
    });
    expect(body.protocols[0].metadata.equals(Buffer.from([1, 2]))).toBe(true);
    if (v >= 8) expect(body.reason).toBe('joining');

    const res = parseOurResponse(ApiKey.JoinGroup, v, `joinGroupV${v}`, {
      throttleTimeMs: 0,
      errorCode: 0,
      generationId: 4,
      protocolType: 'consumer',
      protocolName: 'roundrobin',
      leader: 'member-1',
      skipAssignment: false,
      memberId: 'member-1',
      members: [{ memberId: 'member-1', groupInstanceId: null, metadata: Buffer.from([1, 2]) }],
    });
    expect(res).toMatchObject({
      generationId: 4,
      protocolName: 'roundrobin',
      leader: 'member-1',
      memberId: 'member-1',
    });
    expect(res.members[0].metadata.equals(Buffer.from([1, 2]))).toBe(true);
  });

  it.each([4, 5])('SyncGroup v%i', (v) => {
    const body = decodePlatformaticRequest(
      ApiKey.SyncGroup,
      v,
      api(`syncGroupV${v}`).createRequest(
        'group-1',
        4,
        'member-1',
        null,
        'consumer',
        'roundrobin',
        [{ memberId: 'member-1', assignment: Buffer.from([5, 6]) }],
      ),
    );
    expect(body).toMatchObject({ groupId: 'group-1', generationId: 4, memberId: 'member-1' });
    if (v >= 5)
      expect(body).toMatchObject({ protocolType: 'consumer', protocolName: 'roundrobin' });
    expect(body.assignments[0].assignment.equals(Buffer.from([5, 6]))).toBe(true);

    const res = parseOurResponse(ApiKey.SyncGroup, v, `syncGroupV${v}`, {
      throttleTimeMs: 0,
      errorCode: 0,
      protocolType: 'consumer',
      protocolName: 'roundrobin',
      assignment: Buffer.from([7]),
    });
    expect(res.assignment.equals(Buffer.from([7]))).toBe(true);
  });

  it('Heartbeat v4', () => {
    const body = decodePlatformaticRequest(
      ApiKey.Heartbeat,
      4,
      api('heartbeatV4').createRequest('group-1', 4, 'member-1', 'instance-1'),
    );
    expect(body).toEqual({
      groupId: 'group-1',
      generationId: 4,
      memberId: 'member-1',
      groupInstanceId: 'instance-1',
    });
    const res = parseOurResponse(ApiKey.Heartbeat, 4, 'heartbeatV4', {
      throttleTimeMs: 5,
      errorCode: 0,
    });
    expect(res).toMatchObject({ throttleTimeMs: 5, errorCode: 0 });
  });

  it.each([8, 9])('OffsetCommit v%i', (v) => {
    const body = decodePlatformaticRequest(
      ApiKey.OffsetCommit,
      v,
      api(`offsetCommitV${v}`).createRequest('group-1', 4, 'member-1', null, [
        {
          name: 'orders',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 1099511627776n,
              committedLeaderEpoch: 2,
              committedMetadata: null,
            },
          ],
        },
      ]),
    );
    expect(body).toMatchObject({
      groupId: 'group-1',
      generationIdOrMemberEpoch: 4,
      memberId: 'member-1',
    });
    expect(body.topics[0].partitions[0]).toEqual({
      partitionIndex: 0,
      committedOffset: 1099511627776,
      committedLeaderEpoch: 2,
      commitTimestamp: -1,
      committedMetadata: null,
    });

    const res = parseOurResponse(ApiKey.OffsetCommit, v, `offsetCommitV${v}`, {
      throttleTimeMs: 0,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, errorCode: 0 }] }],
    });
    expect(res.topics[0].partitions[0]).toMatchObject({ partitionIndex: 0, errorCode: 0 });
  });

  it.each([8, 9])('OffsetFetch v%i', (v) => {
    const body = decodePlatformaticRequest(
      ApiKey.OffsetFetch,
      v,
      api(`offsetFetchV${v}`).createRequest(
        [
          {
            groupId: 'group-1',
            memberId: 'member-1',
            memberEpoch: 3,
            topics: [{ name: 'orders', partitionIndexes: [0, 1] }],
          },
        ],
        true,
      ),
    );
    expect(body.requireStable).toBe(true);
    expect(body.groups[0]).toMatchObject({
      groupId: 'group-1',
      topics: [{ name: 'orders', partitionIndexes: [0, 1] }],
    });
    if (v >= 9) expect(body.groups[0]).toMatchObject({ memberId: 'member-1', memberEpoch: 3 });

    const res = parseOurResponse(ApiKey.OffsetFetch, v, `offsetFetchV${v}`, {
      throttleTimeMs: 0,
      groups: [
        {
          groupId: 'group-1',
          topics: [
            {
              name: 'orders',
              partitions: [
                {
                  partitionIndex: 0,
                  committedOffset: 55,
                  committedLeaderEpoch: -1,
                  metadata: '',
                  errorCode: 0,
                },
              ],
            },
          ],
          errorCode: 0,
        },
      ],
    });
    expect(res.groups[0].topics[0].partitions[0]).toEqual({
      partitionIndex: 0,
      committedOffset: 55n,
      committedLeaderEpoch: -1,
      metadata: '',
      errorCode: 0,
    });
  });
});
