/** Splitting a positions read into requests an owner's HTTP port takes, and reading request bodies. */
import { describe, expect, it } from 'vitest';
import {
  MAX_REQUEST_BODY_BYTES,
  parseQueries,
  requestChunks,
} from '../../../plugins/kafka/lag/log-positions.js';
import type { LogPositionsQuery } from '../../../plugins/kafka/lag/types.js';

const TOPIC = 'persistent://public/default/a-topic-with-a-rather-long-name-for-its-kind';

describe('requestChunks', () => {
  it('keeps every query, in order, in bodies under the limit', () => {
    const queries: LogPositionsQuery[] = Array.from({ length: 5000 }, (_, i) => ({
      topic: `${TOPIC}-${i % 7}`,
      partition: i,
      timestampsAt: Array.from({ length: i % 50 }, (_, j) => 1_000_000_000 + j),
    }));
    const chunks = [...requestChunks(queries)];
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.flat()).toEqual(queries);
    for (const chunk of chunks) {
      expect(JSON.stringify({ partitions: chunk }).length).toBeLessThanOrEqual(
        MAX_REQUEST_BODY_BYTES,
      );
    }
  });

  it('sends a query larger than the limit alone', () => {
    const huge = {
      topic: TOPIC,
      partition: 0,
      timestampsAt: Array.from({ length: 60_000 }, (_, i) => i),
    };
    const small = { topic: TOPIC, partition: 1 };
    expect([...requestChunks([small, huge, small])]).toEqual([[small], [huge], [small]]);
    expect([...requestChunks([])]).toEqual([]);
  });
});

describe('parseQueries', () => {
  it('takes partitions with or without timestamps', () => {
    const body = {
      partitions: [
        { topic: TOPIC, partition: 0 },
        { topic: TOPIC, partition: 1, timestampsAt: [0, 5] },
      ],
    };
    expect(parseQueries(body)).toEqual(body.partitions);
  });

  it('refuses anything else with 400', () => {
    for (const body of [
      null,
      [],
      { partitions: {} },
      { partitions: [null] },
      { partitions: [{ topic: 1, partition: 0 }] },
      { partitions: [{ topic: TOPIC, partition: 1.5 }] },
      { partitions: [{ topic: TOPIC, partition: 0, timestampsAt: 5 }] },
      { partitions: [{ topic: TOPIC, partition: 0, timestampsAt: [-1] }] },
    ]) {
      expect(() => parseQueries(body), JSON.stringify(body)).toThrow(
        expect.objectContaining({ status: 400 }),
      );
    }
  });
});
