/**
 * `/metrics` on a broker's HTTP port, with real clients: a kafkajs producer, a reader without a
 * group (as assign() consumers read) and kafkajs consumer groups. KoP's counters must match
 * what was produced and fetched; the group-less reader's series has no group label at all; every
 * series carries the cluster's name; the body is text Prometheus reads (its own promtool parses
 * it), also with a group id that must be escaped. A broker with cardinality guards folds denied
 * groups into group="__other__" and drops the partition label.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/fields.js';
import { topicDirName } from '../../src/storage/topic-dirs.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { readPartitionWithKafkajs } from '../helpers/kafkajs-reader.js';
import { parsePrometheusText, type Sample } from '../helpers/prometheus-text.js';
import { createTopic, produceTo } from '../helpers/group-clients.js';
import { waitFor } from '../helpers/wait.js';

const TOPIC = 'metrics-orders';
const FULL_NAME = `persistent://public/default/${TOPIC}`;
/** Every series of a broker carries its cluster's name (the host's default here), last. */
const CLUSTER = 'cluster="standalone"';
const SERIES = `topic="${FULL_NAME}",partition="0",tenant="public"`;
const BATCHES = 4;
const PER_BATCH = 25;
const MESSAGES = BATCHES * PER_BATCH;

interface Scrape {
  contentType: string | null;
  /** Each broker's body. */
  bodies: string[];
  lines: string[];
}

/** Every broker's `/metrics` (one broker here; all of them if the tests run on several). */
async function scrape(broker: TestBroker): Promise<Scrape> {
  const bodies: string[] = [];
  let contentType: string | null = null;
  for (const service of broker.services) {
    const response = await fetch(`http://127.0.0.1:${service.httpPort}/metrics`, {
      signal: AbortSignal.timeout(5000),
    });
    expect(response.status).toBe(200);
    contentType = response.headers.get('content-type');
    bodies.push(await response.text());
  }
  return { contentType, bodies, lines: bodies.flatMap((body) => body.split('\n')) };
}

/** Every broker's samples, parsed (a line that is not a sample or a comment throws). */
function samples(scraped: Scrape): Sample[] {
  return scraped.bodies.flatMap(parsePrometheusText);
}

/** The sum of the samples of `name` whose labels include `labels`. */
function total(scraped: Scrape, name: string, labels: Record<string, string>): number {
  return samples(scraped)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Consumes `count` messages of `topic` from the start as a kafkajs member of `groupId`. */
async function consumeAsGroup(
  bootstrap: string,
  groupId: string,
  topic: string,
  count: number,
): Promise<void> {
  const kafka = new Kafka({
    brokers: bootstrap.split(','),
    // Its own client id: the group-id mapping knows one client in one group.
    clientId: `member-${Math.random().toString(36).slice(2)}`,
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let consumed = 0;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${groupId} consumed ${consumed} of ${count}`)),
        25_000,
      );
      consumer
        .run({
          eachMessage: async () => {
            if (++consumed === count) resolve();
          },
        })
        .catch(reject);
    }).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
}

/**
 * The sum of the samples of `name` with exactly `labels` ('' for a metric without labels), or
 * with `labels` left out, of every series of the test's topic.
 */
function value(scraped: Scrape, name: string, labels?: string): number {
  const exactly = labels === '' ? `${name}{${CLUSTER}} ` : `${name}{${labels},${CLUSTER}} `;
  return scraped.lines
    .filter((line) =>
      labels === undefined
        ? line.startsWith(`${name}{`) && line.includes(`topic="${FULL_NAME}"`)
        : line.startsWith(exactly),
    )
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** The record-batch bytes the broker stored for the partition: its segment files. */
async function storedBytes(dataDir: string): Promise<number> {
  const dir = join(dataDir, topicDirName(FULL_NAME), '0');
  const logs = (await readdir(dir)).filter((name) => name.endsWith('.log'));
  const sizes = await Promise.all(logs.map(async (name) => (await stat(join(dir, name))).size));
  return sizes.reduce((a, b) => a + b, 0);
}

describe('metrics on the HTTP port', () => {
  let broker: TestBroker;
  let kafka: Kafka;

  beforeAll(async () => {
    broker = await startTestBroker({ groupInitialRebalanceDelayMs: 0 });
    kafka = new Kafka({
      brokers: broker.bootstrap.split(','),
      clientId: 'metrics-test',
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    // One send is one batch for the partition.
    for (let b = 0; b < BATCHES; b++) {
      await producer.send({
        topic: TOPIC,
        messages: Array.from({ length: PER_BATCH }, (_, i) => ({ value: `b${b}-m${i}` })),
      });
    }
    await producer.disconnect();
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('serves the Prometheus text format and keeps /healthz', async () => {
    const { contentType } = await scrape(broker);
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    const health = await fetch(`http://127.0.0.1:${broker.service.httpPort}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it('counts produced messages and the batch bytes stored, under the full topic name', async () => {
    const scraped = await scrape(broker);
    expect(value(scraped, 'kop_server_MESSAGE_IN', SERIES)).toBe(MESSAGES);
    expect(value(scraped, 'kop_server_BYTES_IN', SERIES)).toBe(await storedBytes(broker.dataDir));
    // Node's process metrics are served too, prefixed.
    expect(
      scraped.lines.some((l) => l.startsWith(`koppa_process_cpu_seconds_total{${CLUSTER}} `)),
    ).toBe(true);
  });

  it('counts what a reader without a group fetched, in a series without a group label', async () => {
    const read = await readPartitionWithKafkajs(broker.bootstrap, TOPIC, 0, MESSAGES);
    expect(read).toHaveLength(MESSAGES);
    // The mapping awaits a client without a node a few seconds (its FindCoordinator write may be
    // on its way) before its fetches count without a group.
    const scraped = await waitFor(
      'the reader without a group to be counted',
      async () => {
        const s = await scrape(broker);
        return value(s, 'koppa_fetch_messages_awaiting_group', '') === 0 ? s : undefined;
      },
      20_000,
      200,
    );
    expect(value(scraped, 'kop_server_MESSAGE_OUT', SERIES)).toBe(MESSAGES);
    expect(value(scraped, 'kop_server_ENTRIES_OUT', SERIES)).toBe(BATCHES);
    expect(value(scraped, 'kop_server_BYTES_OUT', SERIES)).toBe(await storedBytes(broker.dataDir));
    expect(scraped.lines.filter((l) => l.includes('group='))).toEqual([]);
  });

  it('counts what a consumer group fetched', async () => {
    const consumer = kafka.consumer({ groupId: 'metrics-group' });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    let consumed = 0;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async () => {
            if (++consumed === MESSAGES) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    const scraped = await scrape(broker);
    // Both readers' fetches, whatever their labels: with NO_GROUPS the group's fetches count
    // without a group; with the group-id mapping under group="metrics-group", or still waiting
    // for the mapping's answer if it has not come yet.
    const awaiting = value(scraped, 'koppa_fetch_messages_awaiting_group', '');
    expect(value(scraped, 'kop_server_MESSAGE_OUT') + awaiting).toBe(2 * MESSAGES);
    expect(scraped.lines).toContain(`koppa_fetch_unattributed_messages_total{${CLUSTER}} 0`);
  });

  it('serves text Prometheus reads, with the cluster on every series and odd group ids escaped', async () => {
    const group = 'odd "group" \\ with a\nline feed';
    await consumeAsGroup(broker.bootstrap, group, TOPIC, MESSAGES);
    const scraped = await waitFor(
      "the odd group's fetches to be counted",
      async () => {
        const s = await scrape(broker);
        return total(s, 'kop_server_MESSAGE_OUT', { group }) === MESSAGES ? s : undefined;
      },
      20_000,
      200,
    );
    expect(scraped.lines.filter((l) => l.includes('group="odd'))).toContain(
      `kop_server_MESSAGE_OUT{${SERIES.replace(',tenant', ',group="odd \\"group\\" \\\\ with a\\nline feed",tenant')},${CLUSTER}} ${MESSAGES}`,
    );
    for (const body of scraped.bodies) {
      const parsed = parsePrometheusText(body);
      expect(parsed.filter((s) => s.labels.cluster !== 'standalone')).toEqual([]);
      const typed = body.split('\n').filter((l) => l.startsWith('# TYPE '));
      expect(typed.length).toBe(new Set(typed.map((l) => l.split(' ')[2])).size);
      expect(typed.length).toBe(body.split('\n').filter((l) => l.startsWith('# HELP ')).length);
      // Prometheus's own parser: exit code 1 on a parse error; 3 on lint problems only, which
      // KoP's names (counters without _total) and Node's (*_total gauges) have.
      const promtool = spawnSync('promtool', ['check', 'metrics'], {
        input: body,
        timeout: 10_000,
      });
      const said = `${promtool.stdout}${promtool.stderr}`;
      expect(promtool.error).toBeUndefined();
      expect(said).not.toContain('error while linting');
      expect([0, 3]).toContain(promtool.status);
    }
  });
});

describe('metrics with cardinality guards', () => {
  const GUARDED = 'metrics-guarded';
  const PARTITIONS = 2;
  const PER_PARTITION = 30;
  let broker: TestBroker;

  beforeAll(async () => {
    broker = await startTestBroker({
      groupInitialRebalanceDelayMs: 0,
      metricsGroupDenyPatterns: ['batch-.*'],
      metricsPartitionLabel: false,
    });
    await createTopic(broker.bootstrap, GUARDED, PARTITIONS);
    await produceTo(broker.bootstrap, GUARDED, PARTITIONS, 0, PER_PARTITION);
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('counts denied groups under __other__ and sums partitions, keeping the totals', async () => {
    const all = PARTITIONS * PER_PARTITION;
    const topic = `persistent://public/default/${GUARDED}`;
    for (const group of ['dashboards', 'batch-1', 'batch-2']) {
      await consumeAsGroup(broker.bootstrap, group, GUARDED, all);
    }
    const scraped = await waitFor(
      'the three groups to be counted',
      async () => {
        const s = await scrape(broker);
        return total(s, 'kop_server_MESSAGE_OUT', { topic }) === 3 * all ? s : undefined;
      },
      20_000,
      200,
    );
    const out = samples(scraped).filter((s) => s.labels.topic === topic);
    const series = (name: string) =>
      out.filter((s) => s.name === name).map((s) => ({ labels: s.labels, value: s.value }));
    const labels = (group?: string) => ({
      topic,
      ...(group === undefined ? {} : { group }),
      tenant: 'public',
      cluster: 'standalone',
    });
    // Several brokers each serve their own part: summed here, one series per label set each.
    const summed = (name: string) => {
      const sums = new Map<string, { labels: Record<string, string>; value: number }>();
      for (const s of series(name)) {
        const key = JSON.stringify(s.labels);
        sums.set(key, { labels: s.labels, value: (sums.get(key)?.value ?? 0) + s.value });
      }
      return [...sums.values()];
    };
    expect(summed('kop_server_MESSAGE_OUT')).toEqual(
      expect.arrayContaining([
        { labels: labels('dashboards'), value: all },
        { labels: labels('__other__'), value: 2 * all },
      ]),
    );
    expect(summed('kop_server_MESSAGE_OUT')).toHaveLength(2);
    expect(summed('kop_server_MESSAGE_IN')).toEqual([{ labels: labels(), value: all }]);
    expect(out.filter((s) => s.name.startsWith('kop_server_') && 'partition' in s.labels)).toEqual(
      [],
    );
    expect(out.filter((s) => s.labels.group?.startsWith('batch-'))).toEqual([]);
  });

  it('refuses to start a broker with a pattern that is not a regular expression', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'koppa-test-'));
    try {
      const refused = await startTestBroker(
        { metricsGroupAllowPatterns: ['ok-.*', '(unclosed'] },
        { dataDir },
      ).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(ConfigError);
      expect((refused as Error).message).toMatch(/metricsGroupAllowPatterns.*\(unclosed/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
