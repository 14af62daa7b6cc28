/**
 * A data directory that outlives its metadata store (wiped, or a new ZooKeeper): the store's
 * epochs start again at 1 while the logs are claimed at 57. The broker moves each partition's
 * epoch past the claim and serves it, instead of having every claim refused for ever.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey, ErrorCode } from '../../plugins/kafka/protocol/index.js';
import { BrokerService } from '../../src/host/broker-service.js';
import { OWNER_EPOCH_FILE } from '../../src/storage/owner-fence.js';
import { RawConnection } from '../helpers/raw-client.js';
import { buildBatch } from '../helpers/record-batches.js';
import { waitFor } from '../helpers/wait.js';
import { pino } from 'pino';

const TOPIC = 'outlived';
const PARTITIONS = 3;
const GROUP = 'outlived-group';

describe('a metadata store reset under an existing data directory', () => {
  let dataDir: string;
  let service: BrokerService | undefined;
  let conn: RawConnection | undefined;

  afterEach(async () => {
    conn?.close();
    await service?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A broker over `dataDir` with a metadata store of its own (nothing shared, nothing kept). */
  const start = async () => {
    service = await BrokerService.start(
      {
        dataDir,
        metadataStoreUrl: 'memory:',
        kafkaListeners: 'PLAINTEXT://127.0.0.1:0',
        webServicePort: 0,
        logFenceGraceMs: 0,
        offsetsTopicNumPartitions: 2,
      },
      { logger: pino({ level: 'silent' }) },
    );
    conn = await RawConnection.open(service.listeners[0].port);
    await conn.createTopic(TOPIC, PARTITIONS);
  };
  const stop = async () => {
    conn!.close();
    await service!.stop();
    service = undefined;
  };

  const produce = async () => {
    const { body } = await conn!.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [
        {
          name: TOPIC,
          partitionData: Array.from({ length: PARTITIONS }, (_, index) => ({
            index,
            records: buildBatch(),
          })),
        },
      ],
    });
    return body.responses[0].partitionResponses;
  };
  const commit = async () => {
    const { body } = await conn!.request(ApiKey.OffsetCommit, 8, {
      groupId: GROUP,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: TOPIC,
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 1,
              committedLeaderEpoch: -1,
              committedMetadata: '',
            },
          ],
        },
      ],
    });
    return body.topics[0].partitions[0].errorCode;
  };

  /** Every claim file under the data directory now says `epoch`. */
  const claimEverything = async (epoch: number): Promise<number> => {
    let claims = 0;
    for (const entry of await readdir(dataDir, { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name === OWNER_EPOCH_FILE) {
        await writeFile(join(entry.parentPath, entry.name), `${epoch}\n`);
        claims++;
      }
    }
    return claims;
  };

  it('moves every epoch past the claims on disk and serves the partitions and the groups', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'koppa-epoch-reset-'));
    await start();
    await waitFor('a first write', async () =>
      (await produce()).every((p) => p.errorCode === ErrorCode.NONE),
    );
    await waitFor('a first commit', async () => (await commit()) === ErrorCode.NONE);
    await stop();
    // Claims from a long history the next metadata store knows nothing of.
    expect(await claimEverything(57)).toBe(PARTITIONS + 2);

    await start();
    const written = await waitFor(
      'writes after the reset',
      async () => {
        const answers = await produce();
        return answers.every((p) => p.errorCode === ErrorCode.NONE) ? answers : null;
      },
      15_000,
    );
    // The data from before the reset is still there: each partition continues after it.
    for (const p of written) expect(p.baseOffset).toBe(1);
    await waitFor(
      'commits after the reset',
      async () => (await commit()) === ErrorCode.NONE,
      15_000,
    );
    const { body } = await conn!.request(ApiKey.Metadata, 12, {
      topics: [{ name: TOPIC }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    for (const p of body.topics[0].partitions) expect(p.leaderEpoch).toBeGreaterThan(57);
  });
});
