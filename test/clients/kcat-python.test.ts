import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { readBatchInfos } from '../../plugins/kafka/records/index.js';
import { jsonLines, PY_CLIENTS, PYTHON, run } from '../helpers/processes.js';
import { openLeader } from '../helpers/raw-client.js';

const CODEC_IDS: Record<string, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

interface Consumed {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
  headers: Record<string, string>;
}

describe('kcat (librdkafka) and kafka-python against one broker', () => {
  let broker: TestBroker;

  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(async () => {
    await broker.stop();
  });

  const pyConsume = async (topic: string, count: number) =>
    jsonLines<Consumed>(
      (
        await run(PYTHON, [
          `${PY_CLIENTS}/kafka_python_client.py`,
          'consume',
          broker.bootstrap,
          topic,
          '0',
          String(count),
        ])
      ).stdout,
    );

  const storedCodecs = async (topic: string): Promise<Set<number>> => {
    const conn = await openLeader(broker.port, topic, 0);
    try {
      const { records } = await conn.fetchPartition(topic, 0, 0);
      return new Set([...readBatchInfos(records ?? Buffer.alloc(0))].map((b) => b.compression));
    } finally {
      conn.close();
    }
  };

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    it(`kcat produces ${codec} batches with keys and headers and reads them back; kafka-python agrees`, async () => {
      const topic = `kcat-${codec}`;
      const count = 500;
      const lines = Array.from(
        { length: count },
        (_, i) => `key-${i}:${codec}-value-${i}-${'y'.repeat(i % 40)}`,
      ).join('\n');
      const before = Date.now();
      await run(
        'kcat',
        [
          '-P',
          '-b',
          broker.bootstrap,
          '-t',
          topic,
          '-K:',
          '-H',
          'origin=kcat',
          '-z',
          codec,
          '-X',
          'linger.ms=20',
        ],
        {
          input: `${lines}\n`,
        },
      );
      const after = Date.now();

      const { stdout } = await run('kcat', [
        '-C',
        '-b',
        broker.bootstrap,
        '-t',
        topic,
        '-p',
        '0',
        '-o',
        'beginning',
        '-e',
        '-f',
        '%o\t%k\t%s\t%T\t%h\n',
      ]);
      const rows = stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t'));
      expect(rows.map((r) => Number(r[0]))).toEqual(Array.from({ length: count }, (_, i) => i));
      expect(rows.map((r) => `${r[1]}:${r[2]}`)).toEqual(lines.split('\n'));
      expect(new Set(rows.map((r) => r[4]))).toEqual(new Set(['origin=kcat']));
      for (const r of rows) {
        expect(Number(r[3])).toBeGreaterThanOrEqual(before - 1000);
        expect(Number(r[3])).toBeLessThanOrEqual(after + 1000);
      }

      // The broker stored the batches as kcat compressed them.
      expect(await storedCodecs(topic)).toEqual(new Set([CODEC_IDS[codec]]));

      const consumed = await pyConsume(topic, count);
      expect(consumed.map((m) => [m.offset, m.key, m.value, m.timestamp])).toEqual(
        rows.map((r) => [Number(r[0]), r[1], r[2], Number(r[3])]),
      );
    });
  }

  it('kafka-python produces with explicit timestamps and headers; it and kcat read back every message', async () => {
    const topic = 'kafka-python-roundtrip';
    const count = 300;
    const base = 1_700_000_000_000;
    const acks = jsonLines<{ partition: number; offset: number }>(
      (
        await run(PYTHON, [
          `${PY_CLIENTS}/kafka_python_client.py`,
          'produce',
          broker.bootstrap,
          topic,
          String(count),
          String(base),
        ])
      ).stdout,
    );
    expect(acks.map((a) => a.offset)).toEqual(Array.from({ length: count }, (_, i) => i));

    const consumed = await pyConsume(topic, count);
    expect(consumed).toEqual(
      Array.from({ length: count }, (_, i) => ({
        offset: i,
        key: i % 5 === 0 ? null : `key-${i}`,
        value: `value-${i}`,
        timestamp: base + i,
        headers: { seq: String(i), origin: 'kafka-python' },
      })),
    );

    const { stdout } = await run('kcat', [
      '-C',
      '-b',
      broker.bootstrap,
      '-t',
      topic,
      '-o',
      'beginning',
      '-e',
      '-f',
      '%T %s\n',
    ]);
    expect(stdout.trim().split('\n')).toEqual(
      Array.from({ length: count }, (_, i) => `${base + i} value-${i}`),
    );
  });
});
