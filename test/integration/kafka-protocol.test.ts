/**
 * Broker behaviour at the protocol level, with requests built by Koppa's codec and sent over a
 * real socket: pipelining order, acks=0, Fetch budgets and long polls, out-of-range offsets,
 * idempotent retries and gaps, topic auto-creation and tenant mapping.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiKey,
  ErrorCode,
  type FetchRequest,
  type ProduceRequest,
} from '../../plugins/kafka/protocol/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { decodeResponseFrame, encodeRequestFrame, RawConnection } from '../helpers/raw-client.js';
import { buildBatch } from '../helpers/record-batches.js';

const produceBody = (topic: string, records: Buffer, acks = -1, partition = 0): ProduceRequest => ({
  transactionalId: null,
  acks,
  timeoutMs: 5000,
  topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
});

const fetchBody = (
  topic: string,
  fetchOffset: number,
  options: {
    maxWaitMs?: number;
    minBytes?: number;
    maxBytes?: number;
    partitionMaxBytes?: number;
    partitions?: number[];
  } = {},
): FetchRequest => ({
  replicaId: -1,
  maxWaitMs: options.maxWaitMs ?? 0,
  minBytes: options.minBytes ?? 1,
  maxBytes: options.maxBytes ?? 50 * 1024 * 1024,
  isolationLevel: 0,
  sessionId: 0,
  sessionEpoch: -1,
  topics: [
    {
      topic,
      partitions: (options.partitions ?? [0]).map((partition) => ({
        partition,
        currentLeaderEpoch: -1,
        fetchOffset,
        lastFetchedEpoch: -1,
        logStartOffset: -1,
        partitionMaxBytes: options.partitionMaxBytes ?? 1024 * 1024,
      })),
    },
  ],
  forgottenTopicsData: [],
  rackId: '',
});

describe('Kafka protocol behaviour', () => {
  let broker: TestBroker;
  let conn: RawConnection;

  beforeAll(async () => {
    broker = await startTestBroker({ defaultNumPartitions: 2 });
    conn = await RawConnection.open(broker.port);
  });
  afterAll(async () => {
    conn.close();
    await broker.stop();
  });

  const createTopic = async (name: string, partitions = 1) => {
    const { body } = await conn.request(ApiKey.CreateTopics, 7, {
      topics: [
        { name, numPartitions: partitions, replicationFactor: -1, assignments: [], configs: [] },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(body.topics[0].errorCode).toBe(ErrorCode.NONE);
  };

  const produce = async (topic: string, records: Buffer, partition = 0) => {
    const { body } = await conn.request(
      ApiKey.Produce,
      9,
      produceBody(topic, records, -1, partition),
    );
    return body.responses[0].partitionResponses[0];
  };

  it('answers pipelined requests in request order, even when the first one waits', async () => {
    await createTopic('pipelined');
    const pipe = await RawConnection.open(broker.port);
    // A long poll on an empty partition, then a request that could be answered at once.
    pipe.write(
      encodeRequestFrame(ApiKey.Fetch, 12, 1, fetchBody('pipelined', 0, { maxWaitMs: 30_000 })),
    );
    pipe.write(
      encodeRequestFrame(ApiKey.ApiVersions, 3, 2, {
        clientSoftwareName: 't',
        clientSoftwareVersion: '1',
      }),
    );
    // A round trip elsewhere, so the broker has read both; then data ends the long poll.
    await conn.request(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 't',
      clientSoftwareVersion: '1',
    });
    await produce('pipelined', buildBatch({ recordCount: 2 }));
    const first = decodeResponseFrame(ApiKey.Fetch, 12, (await pipe.readFrame())!);
    const second = decodeResponseFrame(ApiKey.ApiVersions, 3, (await pipe.readFrame())!);
    expect(first.correlationId).toBe(1);
    expect(first.body.responses[0].partitions[0].records?.length).toBeGreaterThan(0);
    expect(second.correlationId).toBe(2);
    pipe.close();
  });

  it('keeps offsets consecutive when many produce requests to one partition are in flight', async () => {
    await createTopic('burst');
    const pipe = await RawConnection.open(broker.port);
    const count = 200;
    for (let i = 0; i < count; i++) {
      pipe.write(
        encodeRequestFrame(
          ApiKey.Produce,
          9,
          i,
          produceBody('burst', buildBatch({ recordCount: 3 })),
        ),
      );
    }
    for (let i = 0; i < count; i++) {
      const { correlationId, body } = decodeResponseFrame(
        ApiKey.Produce,
        9,
        (await pipe.readFrame())!,
      );
      expect(correlationId).toBe(i);
      expect(body.responses[0].partitionResponses[0]).toMatchObject({
        errorCode: ErrorCode.NONE,
        baseOffset: i * 3,
      });
    }
    pipe.close();
  });

  it('sends no response for acks=0 yet appends the batch', async () => {
    await createTopic('acks-zero');
    const pipe = await RawConnection.open(broker.port);
    pipe.write(
      encodeRequestFrame(
        ApiKey.Produce,
        9,
        10,
        produceBody('acks-zero', buildBatch({ recordCount: 4 }), 0),
      ),
    );
    pipe.write(
      encodeRequestFrame(ApiKey.ApiVersions, 3, 11, {
        clientSoftwareName: 't',
        clientSoftwareVersion: '1',
      }),
    );
    const next = decodeResponseFrame(ApiKey.ApiVersions, 3, (await pipe.readFrame())!);
    expect(next.correlationId).toBe(11);
    const { body } = await conn.request(ApiKey.ListOffsets, 6, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: 'acks-zero',
          partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }],
        },
      ],
    });
    expect(body.topics[0].partitions[0].offset).toBe(4);
    pipe.close();
  });

  it('fetches whole batches within the byte budgets, at least one batch, with offsets and watermarks', async () => {
    await createTopic('budgets', 2);
    const batch = () => buildBatch({ recordCount: 10, payloadSize: 1000 }); // 1061 bytes
    for (let i = 0; i < 5; i++) expect((await produce('budgets', batch())).baseOffset).toBe(i * 10);
    await produce('budgets', batch(), 1);

    const read = async (offset: number, options: Parameters<typeof fetchBody>[2]) =>
      (await conn.request(ApiKey.Fetch, 12, fetchBody('budgets', offset, options))).body
        .responses[0].partitions;

    // Per-partition budget of 2.5 batches: two whole batches.
    const [p0] = await read(0, { partitionMaxBytes: 2600 });
    expect(p0.records?.length).toBe(2 * 1061);
    expect(p0.highWatermark).toBe(50);
    expect(p0.logStartOffset).toBe(0);
    // A budget smaller than one batch still returns one whole batch (KIP-74).
    expect((await read(0, { partitionMaxBytes: 10 }))[0].records?.length).toBe(1061);
    // An offset inside a batch returns the batch that holds it.
    expect((await read(25, { partitionMaxBytes: 1100 }))[0].records?.readBigInt64BE(0)).toBe(20n);
    // The request-wide budget: the first partition fills it, the second gets nothing.
    const both = await read(0, { maxBytes: 1500, partitions: [0, 1] });
    expect(both.map((p) => p.records?.length ?? 0)).toEqual([1061, 0]);
    // Past the end: OFFSET_OUT_OF_RANGE with the watermarks to recover from.
    const [beyond] = await read(51, {});
    expect(beyond.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(beyond.highWatermark).toBe(50);
  });

  it('long-polls until min bytes arrive, and answers with what came in', async () => {
    await createTopic('long-poll');
    const poller = await RawConnection.open(broker.port);
    poller.write(
      encodeRequestFrame(
        ApiKey.Fetch,
        12,
        5,
        fetchBody('long-poll', 0, { maxWaitMs: 30_000, minBytes: 1 }),
      ),
    );
    // The partition was empty when the fetch arrived: only waiting can put data in its answer.
    await conn.request(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 't',
      clientSoftwareVersion: '1',
    });
    await produce('long-poll', buildBatch({ recordCount: 3 }));
    const { body } = decodeResponseFrame(ApiKey.Fetch, 12, (await poller.readFrame(10_000))!);
    const [partition] = body.responses[0].partitions;
    expect(partition.records?.readBigInt64BE(0)).toBe(0n);
    expect(partition.highWatermark).toBe(3);
    poller.close();
  });

  it('answers when max wait passes with min bytes unmet, with what there is', async () => {
    await createTopic('min-bytes');
    await produce('min-bytes', buildBatch({ recordCount: 1 }));
    const { body } = await conn.request(
      ApiKey.Fetch,
      12,
      fetchBody('min-bytes', 0, { maxWaitMs: 200, minBytes: 1024 * 1024 }),
    );
    expect(body.responses[0].partitions[0].records?.length).toBe(71);
  });

  it('gives a retried idempotent batch its original offset and refuses a sequence gap', async () => {
    await createTopic('idempotent-raw');
    const init = await conn.request(ApiKey.InitProducerId, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    });
    expect(init.body.errorCode).toBe(ErrorCode.NONE);
    const { producerId, producerEpoch } = init.body;
    const batch = (baseSequence: number) =>
      buildBatch({ recordCount: 5, producerId, producerEpoch, baseSequence });
    expect((await produce('idempotent-raw', batch(0))).baseOffset).toBe(0);
    expect((await produce('idempotent-raw', batch(5))).baseOffset).toBe(5);
    const retry = await produce('idempotent-raw', batch(0));
    expect(retry).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0 });
    const gap = await produce('idempotent-raw', batch(20));
    expect(gap.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect((await produce('idempotent-raw', batch(10))).baseOffset).toBe(10);
  });

  it('refuses transactional ids clearly, and unknown topics and partitions', async () => {
    const txn = await conn.request(ApiKey.InitProducerId, 4, {
      transactionalId: 'tx-1',
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    });
    expect(txn.body.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    await createTopic('one-partition');
    expect((await produce('one-partition', buildBatch(), 7)).errorCode).toBe(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    expect((await produce('never-created', buildBatch())).errorCode).toBe(
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    expect((await produce('bad/name', buildBatch())).errorCode).toBe(
      ErrorCode.INVALID_TOPIC_EXCEPTION,
    );
  });

  it('auto-creates topics on Metadata with the default partition count, unless the client declines', async () => {
    const metadata = (name: string, allow: boolean) =>
      conn.request(ApiKey.Metadata, 12, {
        topics: [{ name }],
        allowAutoTopicCreation: allow,
        includeTopicAuthorizedOperations: false,
      });
    const declined = await metadata('declined', false);
    expect(declined.body.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const created = await metadata('auto-created', true);
    expect(created.body.topics[0]).toMatchObject({
      errorCode: ErrorCode.NONE,
      name: 'auto-created',
    });
    expect(created.body.topics[0].partitions).toHaveLength(2);
    expect(created.body.topics[0].topicId).toHaveLength(16);
    expect(broker.service.topics.get('persistent://public/default/auto-created')?.partitions).toBe(
      2,
    );
  });

  it('names this broker as every group coordinator, singly and batched, and refuses transaction keys', async () => {
    const v3 = await conn.request(ApiKey.FindCoordinator, 3, { key: 'orders-service', keyType: 0 });
    expect(v3.body).toMatchObject({
      errorCode: ErrorCode.NONE,
      nodeId: 0,
      host: '127.0.0.1',
      port: broker.port,
    });
    const v4 = await conn.request(ApiKey.FindCoordinator, 4, {
      keyType: 0,
      coordinatorKeys: ['a', 'b'],
    });
    expect(v4.body.coordinators!.map((c) => [c.key, c.errorCode, c.nodeId])).toEqual([
      ['a', ErrorCode.NONE, 0],
      ['b', ErrorCode.NONE, 0],
    ]);
    const txn = await conn.request(ApiKey.FindCoordinator, 4, {
      keyType: 1,
      coordinatorKeys: ['tx'],
    });
    expect(txn.body.coordinators![0]).toMatchObject({
      errorCode: ErrorCode.INVALID_REQUEST,
      nodeId: -1,
    });
    expect(txn.body.coordinators![0].errorMessage).toMatch(/transactions/);
  });

  it('refuses pre-v2 message formats on Produce v0-2 with UNSUPPORTED_VERSION', async () => {
    await createTopic('old-format');
    const { body } = await conn.request(ApiKey.Produce, 2, {
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        { name: 'old-format', partitionData: [{ index: 0, records: buildBatch({ magic: 1 }) }] },
      ],
    });
    expect(body.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
  });

  it('describes the cluster and topic configs', async () => {
    const cluster = await conn.request(ApiKey.DescribeCluster, 1, {
      includeClusterAuthorizedOperations: false,
      endpointType: 1,
    });
    expect(cluster.body.errorCode).toBe(ErrorCode.NONE);
    expect(cluster.body.brokers).toEqual([
      { brokerId: 0, host: '127.0.0.1', port: broker.port, rack: null },
    ]);
    const { body } = await conn.request(ApiKey.CreateTopics, 7, {
      topics: [
        {
          name: 'configured',
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: 'retention.ms', value: '60000' }],
        },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(body.topics[0].errorCode).toBe(ErrorCode.NONE);
    const bad = await conn.request(ApiKey.CreateTopics, 7, {
      topics: [
        {
          name: 'misconfigured',
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: 'no.such.config', value: '1' }],
        },
      ],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect(bad.body.topics[0].errorCode).toBe(ErrorCode.INVALID_CONFIG);
    const described = await conn.request(ApiKey.DescribeConfigs, 4, {
      resources: [
        {
          resourceType: 2,
          resourceName: 'configured',
          configurationKeys: ['retention.ms', 'segment.bytes'],
        },
      ],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const configs = described.body.results[0].configs.map((c) => [c.name, c.value, c.configSource]);
    expect(configs).toEqual([
      ['retention.ms', '60000', 1],
      ['segment.bytes', String(1024 ** 3), 5],
    ]);
  });
});

describe('tenant and namespace mapping', () => {
  it('stores short topic names under the configured tenant and namespace', async () => {
    const broker = await startTestBroker({
      kafkaTenant: 'acme',
      kafkaNamespace: 'orders',
      allowAutoTopicCreation: false,
    });
    const conn = await RawConnection.open(broker.port);
    try {
      const missing = await conn.request(ApiKey.Metadata, 12, {
        topics: [{ name: 'invoices' }],
        allowAutoTopicCreation: true,
        includeTopicAuthorizedOperations: false,
      });
      expect(missing.body.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      await conn.request(ApiKey.CreateTopics, 7, {
        topics: [
          {
            name: 'invoices',
            numPartitions: 1,
            replicationFactor: -1,
            assignments: [],
            configs: [],
          },
        ],
        timeoutMs: 5000,
        validateOnly: false,
      });
      expect(broker.service.topics.get('persistent://acme/orders/invoices')).toBeDefined();
      const all = await conn.request(ApiKey.Metadata, 12, {
        topics: null,
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      });
      // Short names for the default namespace; Kafka's own topic is listed too, as Kafka lists it.
      expect(all.body.topics.map((t) => t.name).sort()).toEqual(['__consumer_offsets', 'invoices']);
    } finally {
      conn.close();
      await broker.stop();
    }
  });
});
