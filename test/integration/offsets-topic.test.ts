/**
 * __consumer_offsets: commits are records in the store; the partition is compacted as they
 * accumulate, so replay stays bounded; a restarted broker replays it and answers the latest
 * offsets; clients may read the topic but not write it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offsetsPartitionFor } from '../../plugins/kafka/coordinator/placement.js';
import { ApiKey, ErrorCode } from '../../plugins/kafka/protocol/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { freePort } from '../helpers/broker-process.js';
import { RawConnection } from '../helpers/raw-client.js';
import { buildBatch } from '../helpers/record-batches.js';
import { waitFor } from '../helpers/wait.js';

const GROUP = 'compaction-group';
const PARTITIONS_OF_OFFSETS = 4;
const COMPACTION_RECORDS = 200;

describe('__consumer_offsets', () => {
  let dir: string;
  let port: number;
  let broker: TestBroker;
  let conn: RawConnection;

  const config = () => ({
    kafkaListeners: `PLAINTEXT://127.0.0.1:${port}`,
    offsetsTopicNumPartitions: PARTITIONS_OF_OFFSETS,
    offsetsCompactionRecords: COMPACTION_RECORDS,
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'koppa-offsets-'));
    port = await freePort();
    broker = await startTestBroker(config(), { dataDir: dir });
    conn = await RawConnection.open(port);
    await conn.createTopic('consumed', 3);
  });
  afterAll(async () => {
    conn.close();
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const commit = (offset: number) =>
    conn.request(ApiKey.OffsetCommit, 8, {
      groupId: GROUP,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 'consumed',
          partitions: [0, 1, 2].map((p) => ({
            partitionIndex: p,
            committedOffset: offset + p,
            committedLeaderEpoch: -1,
            committedMetadata: `m${offset}`,
          })),
        },
      ],
    });

  const committed = async () => {
    const { body } = await conn.request(ApiKey.OffsetFetch, 8, {
      groups: [{ groupId: GROUP, topics: [{ name: 'consumed', partitionIndexes: [0, 1, 2] }] }],
      requireStable: false,
    });
    const group = body.groups![0];
    return group.errorCode === ErrorCode.NONE
      ? group.topics[0].partitions.map((p) => [p.committedOffset, p.metadata])
      : null;
  };

  const earliestAndLatest = async (partition: number) => {
    const { body } = await conn.request(ApiKey.ListOffsets, 6, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [
        {
          name: '__consumer_offsets',
          partitions: [
            { partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -2 },
            { partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1 },
          ],
        },
      ],
    });
    return body.topics[0].partitions.map((p) => p.offset ?? -1);
  };

  it('is an internal topic clients can read but not write', async () => {
    const { body } = await conn.request(ApiKey.Metadata, 12, {
      topics: [{ name: '__consumer_offsets' }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    expect(body.topics[0]).toMatchObject({ errorCode: ErrorCode.NONE, isInternal: true });
    expect(body.topics[0].partitions).toHaveLength(PARTITIONS_OF_OFFSETS);
    const produce = await conn.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        { name: '__consumer_offsets', partitionData: [{ index: 0, records: buildBatch() }] },
      ],
    });
    expect(produce.body.responses[0].partitionResponses[0].errorCode).toBe(
      ErrorCode.INVALID_TOPIC_EXCEPTION,
    );
  });

  it('compacts as commits accumulate, keeping only the latest offsets', async () => {
    await waitFor('the coordinator to load', () => committed().catch(() => null));
    const rounds = COMPACTION_RECORDS * 3;
    for (let i = 1; i <= rounds; i++) {
      const { body } = await commit(i * 10);
      expect(body.topics[0].partitions.every((p) => p.errorCode === ErrorCode.NONE)).toBe(true);
    }
    expect(await committed()).toEqual([0, 1, 2].map((p) => [rounds * 10 + p, `m${rounds * 10}`]));
    const partition = offsetsPartitionFor(GROUP, PARTITIONS_OF_OFFSETS);
    const [earliest, latest] = await waitFor('compaction to move the log start', async () => {
      const offsets = await earliestAndLatest(partition);
      return offsets[0] > 0 ? (offsets as [number, number]) : null;
    });
    // 3 records a commit: without compaction the log would hold them all.
    expect(latest - earliest).toBeLessThan(COMPACTION_RECORDS * 2 + 10);
  });

  it('replays the compacted partition after a restart', async () => {
    const rounds = COMPACTION_RECORDS * 3;
    await broker.stop();
    conn.close();
    broker = await startTestBroker(config(), { dataDir: dir });
    conn = await RawConnection.open(port);
    const reloaded = await waitFor('the coordinator to load', () => committed().catch(() => null));
    expect(reloaded).toEqual([0, 1, 2].map((p) => [rounds * 10 + p, `m${rounds * 10}`]));
  });

  it('keeps a deleted group deleted through compaction and a restart', async () => {
    const partition = offsetsPartitionFor(GROUP, PARTITIONS_OF_OFFSETS);
    // A second group on the same __consumer_offsets partition, committed and then deleted.
    let doomed = 'doomed-0';
    for (let i = 1; offsetsPartitionFor(doomed, PARTITIONS_OF_OFFSETS) !== partition; i++)
      doomed = `doomed-${i}`;
    const commitFor = (groupId: string) =>
      conn.request(ApiKey.OffsetCommit, 8, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [
          {
            name: 'consumed',
            partitions: [
              {
                partitionIndex: 0,
                committedOffset: 7,
                committedLeaderEpoch: -1,
                committedMetadata: null,
              },
            ],
          },
        ],
      });
    expect((await commitFor(doomed)).body.topics[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    const deleted = await conn.request(ApiKey.DeleteGroups, 2, { groupsNames: [doomed] });
    expect(deleted.body.results).toEqual([{ groupId: doomed, errorCode: ErrorCode.NONE }]);
    const [before] = await earliestAndLatest(partition);
    for (let i = 0; i < COMPACTION_RECORDS * 2; i++) await commit(i);
    await waitFor('another compaction', async () =>
      (await earliestAndLatest(partition))[0] > before ? true : null,
    );

    await broker.stop();
    conn.close();
    broker = await startTestBroker(config(), { dataDir: dir });
    conn = await RawConnection.open(port);
    await waitFor('the coordinator to load', () => committed().catch(() => null));
    const { body } = await conn.request(ApiKey.OffsetFetch, 8, {
      groups: [{ groupId: doomed, topics: null }],
      requireStable: false,
    });
    expect(body.groups![0]).toMatchObject({ errorCode: ErrorCode.NONE, topics: [] });
  });

  it('places groups by the partition count the topic was created with, whatever the setting says later', async () => {
    const before = await committed();
    await broker.stop();
    conn.close();
    broker = await startTestBroker(
      { ...config(), offsetsTopicNumPartitions: PARTITIONS_OF_OFFSETS * 2 },
      { dataDir: dir },
    );
    conn = await RawConnection.open(port);
    const after = await waitFor('the coordinator to load', () => committed().catch(() => null));
    expect(after).toEqual(before);
  });
});
