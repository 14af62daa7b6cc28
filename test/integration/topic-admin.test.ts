/**
 * Topic administration at the protocol level: deletion (by name and by id, racing produce and
 * long polls, followed by a re-creation), partition growth, config validation, and the errors
 * Kafka clients expect for what does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiKey,
  ErrorCode,
  ZERO_UUID,
  type FetchRequest,
} from '../../plugins/kafka/protocol/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { decodeResponseFrame, encodeRequestFrame, RawConnection } from '../helpers/raw-client.js';
import { buildBatch } from '../helpers/record-batches.js';

describe('topic administration', () => {
  let broker: TestBroker;
  let conn: RawConnection;

  beforeAll(async () => {
    broker = await startTestBroker({ fetchMaxBytes: 4096 });
    conn = await RawConnection.open(broker.port);
  });
  afterAll(async () => {
    conn.close();
    await broker.stop();
  });

  const create = async (
    name: string,
    partitions = 1,
    configs: { name: string; value: string }[] = [],
  ) =>
    (
      await conn.request(ApiKey.CreateTopics, 7, {
        topics: [
          { name, numPartitions: partitions, replicationFactor: -1, assignments: [], configs },
        ],
        timeoutMs: 5000,
        validateOnly: false,
      })
    ).body.topics[0];

  const produceRequest = (topic: string, partition = 0, acks = -1) => ({
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [
      {
        name: topic,
        partitionData: [{ index: partition, records: buildBatch({ recordCount: 2 }) }],
      },
    ],
  });

  const produce = async (topic: string, partition = 0) =>
    (await conn.request(ApiKey.Produce, 9, produceRequest(topic, partition))).body.responses[0]
      .partitionResponses[0];

  const fetchV13 = (topicId: Buffer, partition: number, maxWaitMs = 0): FetchRequest => ({
    replicaId: -1,
    maxWaitMs,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [
      {
        topicId,
        partitions: [
          {
            partition,
            currentLeaderEpoch: -1,
            fetchOffset: 0,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: 1 << 20,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
    rackId: '',
  });

  const latestOffset = async (topic: string) =>
    (
      await conn.request(ApiKey.ListOffsets, 6, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [
          {
            name: topic,
            partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }],
          },
        ],
      })
    ).body.topics[0].partitions[0];

  it('deletes by id, and refuses a request naming both a name and an id', async () => {
    const topicId = (await create('by-id')).topicId!;
    const both = await conn.request(ApiKey.DeleteTopics, 6, {
      topics: [{ name: 'by-id', topicId }],
      timeoutMs: 5000,
    });
    expect(both.body.responses[0].errorCode).toBe(ErrorCode.INVALID_REQUEST);
    const byId = await conn.request(ApiKey.DeleteTopics, 6, {
      topics: [{ name: null, topicId }],
      timeoutMs: 5000,
    });
    expect(byId.body.responses[0]).toMatchObject({ name: 'by-id', errorCode: ErrorCode.NONE });
    const again = await conn.request(ApiKey.DeleteTopics, 6, {
      topics: [{ name: null, topicId }],
      timeoutMs: 5000,
    });
    expect(again.body.responses[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });

  it('answers a long poll on a topic deleted under it, and keeps the connection', async () => {
    const topicId = (await create('deleted-under-poll')).topicId!;
    const poller = await RawConnection.open(broker.port);
    poller.write(encodeRequestFrame(ApiKey.Fetch, 13, 1, fetchV13(topicId, 0, 30_000)));
    await conn.request(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 't',
      clientSoftwareVersion: '1',
    });
    await conn.request(ApiKey.DeleteTopics, 6, {
      topics: [{ name: 'deleted-under-poll', topicId: ZERO_UUID }],
      timeoutMs: 5000,
    });
    // The deleted log wakes the poll; the answer says the partition is gone.
    const first = decodeResponseFrame(ApiKey.Fetch, 13, (await poller.readFrame(35_000))!);
    expect([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_ID]).toContain(
      first.body.responses[0].partitions[0].errorCode,
    );
    poller.write(encodeRequestFrame(ApiKey.Fetch, 13, 2, fetchV13(topicId, 0)));
    const second = decodeResponseFrame(ApiKey.Fetch, 13, (await poller.readFrame())!);
    expect(second.body.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
    expect(poller.closed).toBe(false);
    poller.close();
  }, 40_000);

  it('never lets a re-created topic see the old data, even when produce races the deletion', async () => {
    await create('recreated', 8);
    for (let p = 0; p < 8; p++)
      expect((await produce('recreated', p)).errorCode).toBe(ErrorCode.NONE);
    const racer = await RawConnection.open(broker.port);
    for (let i = 0; i < 20; i++)
      racer.write(encodeRequestFrame(ApiKey.Produce, 9, i, produceRequest('recreated', 7)));
    const deletion = conn.request(ApiKey.DeleteTopics, 6, {
      topics: [{ name: 'recreated', topicId: ZERO_UUID }],
      timeoutMs: 5000,
    });
    const raced: number[] = [];
    for (let i = 0; i < 20; i++) {
      raced.push(
        decodeResponseFrame(ApiKey.Produce, 9, (await racer.readFrame())!).body.responses[0]
          .partitionResponses[0].errorCode,
      );
    }
    expect((await deletion).body.responses[0].errorCode).toBe(ErrorCode.NONE);
    expect(
      raced.every((e) => e === ErrorCode.NONE || e === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    ).toBe(true);
    racer.close();

    expect((await create('recreated', 8)).errorCode).toBe(ErrorCode.NONE);
    expect(await latestOffset('recreated')).toMatchObject({ errorCode: ErrorCode.NONE, offset: 0 });
    const fresh = await produce('recreated', 0);
    expect(fresh).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0 });
  });

  it('grows partitions but never shrinks them', async () => {
    await create('growing', 2);
    const grow = (count: number) =>
      conn.request(ApiKey.CreatePartitions, 3, {
        topics: [{ name: 'growing', count, assignments: null }],
        timeoutMs: 5000,
        validateOnly: false,
      });
    expect((await grow(4)).body.results[0].errorCode).toBe(ErrorCode.NONE);
    expect((await produce('growing', 3)).errorCode).toBe(ErrorCode.NONE);
    expect((await grow(3)).body.results[0].errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    expect((await grow(4)).body.results[0].errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
  });

  it('refuses topic configs the store cannot honour, naming the problem', async () => {
    for (const [name, value] of [
      ['flush.messages', '0'],
      ['segment.bytes', '-5'],
      ['retention.ms', 'soon'],
      ['cleanup.policy', 'compact'],
      ['no.such.setting', '1'],
    ]) {
      const result = await create(`bad-${name.replace(/\./g, '-')}`, 1, [{ name, value }]);
      expect(result.errorCode).toBe(ErrorCode.INVALID_CONFIG);
      expect(result.errorMessage).toBeTruthy();
    }
  });

  it('tells an unknown topic id from an unknown partition of a known topic (Fetch v13)', async () => {
    const topicId = (await create('by-id-fetch')).topicId!;
    const unknownId = Buffer.alloc(16, 7);
    const a = await conn.request(ApiKey.Fetch, 13, fetchV13(unknownId, 0));
    expect(a.body.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
    const b = await conn.request(ApiKey.Fetch, 13, fetchV13(topicId, 5));
    expect(b.body.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('caps what one fetch returns at fetchMaxBytes, beyond the first batch', async () => {
    const topicId = (await create('capped')).topicId!;
    for (let i = 0; i < 10; i++) await produce('capped');
    const { body } = await conn.request(ApiKey.Fetch, 13, fetchV13(topicId, 0));
    const bytes = body.responses[0].partitions[0].records?.length ?? 0;
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(4096);
  });

  it('closes the connection when an acks=0 produce fails, after earlier answers', async () => {
    const pipe = await RawConnection.open(broker.port);
    pipe.write(
      encodeRequestFrame(ApiKey.ApiVersions, 3, 1, {
        clientSoftwareName: 't',
        clientSoftwareVersion: '1',
      }),
    );
    pipe.write(encodeRequestFrame(ApiKey.Produce, 9, 2, produceRequest('no-such-topic', 0, 0)));
    expect(
      decodeResponseFrame(ApiKey.ApiVersions, 3, (await pipe.readFrame())!).correlationId,
    ).toBe(1);
    expect(await pipe.waitClosed()).toBe(true);
  });
});
