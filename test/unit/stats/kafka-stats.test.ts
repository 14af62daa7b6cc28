import { beforeEach, describe, expect, it } from 'vitest';
import { createHostMetrics, type BrokerMetrics } from '../../../src/metrics/index.js';
import type { ClientKey, GroupResolver } from '../../../plugins/kafka/group-mapping/types.js';
import {
  createKafkaStats,
  createSeriesPolicy,
  type KafkaStats,
} from '../../../plugins/kafka/stats/index.js';
import { buildBatch } from '../../helpers/record-batches.js';

const ORDERS = 'persistent://public/default/orders';
const OTHER = 'persistent://acme/eu/payments';
const alice: ClientKey = { clientHost: '10.0.0.1', clientId: 'alice' };
const bob: ClientKey = { clientHost: '10.0.0.2', clientId: 'bob' };

/** Answers what the test set for a client id; undefined until then. */
class FakeResolver implements GroupResolver {
  readonly answers = new Map<string, string | null>();
  readonly listeners = new Set<(client: ClientKey) => void>();
  groupOf(client: ClientKey): string | null | undefined {
    return this.answers.get(client.clientId);
  }
  onChange(listener: (client: ClientKey) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  connectionClosed(): void {}
  /** Sets the answer and, unless `quietly`, tells the listeners. */
  answer(client: ClientKey, group: string | null, quietly = false): void {
    this.answers.set(client.clientId, group);
    if (!quietly) for (const listener of this.listeners) listener(client);
  }
}

/**
 * The lines of `name`'s samples in the text exposition, each checked for the `cluster` label
 * every series carries (last) and shown without it: KoP's own labels, in their order.
 */
async function samples(metrics: BrokerMetrics, name: string): Promise<string[]> {
  const text = await metrics.exposition();
  const lines = text.split('\n').filter((line) => line.startsWith(`${name}{`));
  for (const line of lines) expect(line).toMatch(/[{,]cluster="standalone"\} /);
  return lines.map((line) => line.replace(/,?cluster="standalone"\}/, '}').replace('{}', ''));
}

/** The attribution health metrics, from their sample lines. */
async function health(metrics: BrokerMetrics): Promise<{ awaiting: number; unattributed: number }> {
  const value = async (name: string) => {
    const [line] = await samples(metrics, name);
    return Number(line.slice(name.length + 1));
  };
  return {
    awaiting: await value('koppa_fetch_messages_awaiting_group'),
    unattributed: await value('koppa_fetch_unattributed_messages_total'),
  };
}

/** `batches` batches of `perBatch` records each, as a fetch returns them. */
function fetchedRecords(batches: number, perBatch: number): Buffer {
  return Buffer.concat(
    Array.from({ length: batches }, (_, i) =>
      buildBatch({ baseOffset: i * perBatch, recordCount: perBatch }),
    ),
  );
}

describe('Kafka stats', () => {
  let metrics: BrokerMetrics;
  let groups: FakeResolver;
  let stats: KafkaStats;
  let now: number;

  beforeEach(() => {
    metrics = createHostMetrics();
    groups = new FakeResolver();
    now = 0;
    stats = createKafkaStats(metrics, groups, {
      awaiting: { maxPerClient: 2, maxEntries: 3, maxAgeMs: 1000 },
      now: () => now,
    });
  });

  it('publishes produced messages and bytes by topic, partition and tenant', async () => {
    stats.produce.appended(ORDERS, 0, 3, 120);
    stats.produce.appended(ORDERS, 0, 2, 80);
    stats.produce.appended(OTHER, 4, 1, 70);
    expect(await samples(metrics, 'kop_server_MESSAGE_IN')).toEqual([
      'kop_server_MESSAGE_IN{topic="persistent://public/default/orders",partition="0",tenant="public"} 5',
      'kop_server_MESSAGE_IN{topic="persistent://acme/eu/payments",partition="4",tenant="acme"} 1',
    ]);
    expect(await samples(metrics, 'kop_server_BYTES_IN')).toEqual([
      'kop_server_BYTES_IN{topic="persistent://public/default/orders",partition="0",tenant="public"} 200',
      'kop_server_BYTES_IN{topic="persistent://acme/eu/payments",partition="4",tenant="acme"} 70',
    ]);
  });

  it('counts a group member under its group and an assign() consumer with no group label', async () => {
    groups.answer(alice, 'billing');
    groups.answer(bob, null);
    const records = fetchedRecords(2, 3);
    stats.fetch.fetched(alice, 1, ORDERS, 0, records);
    stats.fetch.fetched(bob, 2, ORDERS, 0, records);
    stats.fetch.fetched(bob, 2, ORDERS, 0, fetchedRecords(1, 4));
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toEqual([
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="0",group="billing",tenant="public"} 6',
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="0",tenant="public"} 10',
    ]);
    expect(await samples(metrics, 'kop_server_ENTRIES_OUT')).toEqual([
      'kop_server_ENTRIES_OUT{topic="persistent://public/default/orders",partition="0",group="billing",tenant="public"} 2',
      'kop_server_ENTRIES_OUT{topic="persistent://public/default/orders",partition="0",tenant="public"} 3',
    ]);
    const bytes = records.length;
    expect(await samples(metrics, 'kop_server_BYTES_OUT')).toEqual([
      `kop_server_BYTES_OUT{topic="persistent://public/default/orders",partition="0",group="billing",tenant="public"} ${bytes}`,
      `kop_server_BYTES_OUT{topic="persistent://public/default/orders",partition="0",tenant="public"} ${bytes + fetchedRecords(1, 4).length}`,
    ]);
    expect((await metrics.exposition()).includes('group=""')).toBe(false);
  });

  it('counts nothing for a fetch that returned no records', async () => {
    groups.answer(alice, 'billing');
    stats.fetch.fetched(alice, 1, ORDERS, 0, Buffer.alloc(0));
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toEqual([]);
  });

  it('keeps counts whose group is not known yet and moves them to the answer when it comes', async () => {
    stats.fetch.fetched(alice, 1, ORDERS, 0, fetchedRecords(1, 5));
    stats.fetch.fetched(alice, 1, ORDERS, 1, fetchedRecords(1, 2));
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toEqual([]);
    expect(await health(metrics)).toMatchObject({ awaiting: 7 });

    groups.answer(alice, 'billing');
    stats.fetch.fetched(alice, 1, ORDERS, 0, fetchedRecords(1, 1));
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toEqual([
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="0",group="billing",tenant="public"} 6',
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="1",group="billing",tenant="public"} 2',
    ]);
    expect(await health(metrics)).toEqual({ awaiting: 0, unattributed: 0 });
  });

  it('moves kept counts to the answer of a fetch that came before onChange did', async () => {
    stats.fetch.fetched(alice, 1, ORDERS, 0, fetchedRecords(1, 5));
    groups.answer(alice, 'billing', true);
    stats.fetch.fetched(alice, 1, ORDERS, 0, fetchedRecords(1, 1));
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toEqual([
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="0",group="billing",tenant="public"} 6',
    ]);
    // A late onChange finds nothing left to move.
    groups.answer(alice, 'billing');
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toEqual([
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="0",group="billing",tenant="public"} 6',
    ]);
  });

  it('counts kept messages without a group, and not as unattributed, when the answer is "no group"', async () => {
    stats.fetch.fetched(bob, 2, OTHER, 3, fetchedRecords(2, 2));
    groups.answer(bob, null);
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toEqual([
      'kop_server_MESSAGE_OUT{topic="persistent://acme/eu/payments",partition="3",tenant="acme"} 4',
    ]);
    expect(await health(metrics)).toMatchObject({ unattributed: 0 });
  });

  it('leaves other clients waiting when one client is answered', async () => {
    stats.fetch.fetched(alice, 1, ORDERS, 0, fetchedRecords(1, 5));
    stats.fetch.fetched(bob, 2, ORDERS, 0, fetchedRecords(1, 3));
    groups.answer(alice, 'billing');
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toEqual([
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="0",group="billing",tenant="public"} 5',
    ]);
    expect(await health(metrics)).toMatchObject({ awaiting: 3 });
  });

  it("keeps two client ids of one host apart, and frees a client's room as its counts go", async () => {
    const carol: ClientKey = { clientHost: alice.clientHost, clientId: 'carol' };
    stats.fetch.fetched(alice, 1, ORDERS, 0, fetchedRecords(1, 1));
    stats.fetch.fetched(carol, 2, ORDERS, 0, fetchedRecords(1, 2));
    groups.answer(carol, 'audit');
    // Alice's counts still wait; carol's went to her group.
    expect(await health(metrics)).toMatchObject({ awaiting: 1 });
    // Carol's group is unknown again (say, her node is being re-created).
    groups.answers.delete('carol');
    // Carol's two places are free again (per-client cap 2), the overall cap (3) allows two more.
    stats.fetch.fetched(carol, 2, ORDERS, 1, fetchedRecords(1, 1));
    stats.fetch.fetched(carol, 2, ORDERS, 2, fetchedRecords(1, 1));
    expect(await health(metrics)).toEqual({ awaiting: 3, unattributed: 0 });
    groups.answer(alice, 'billing');
    groups.answer(carol, 'audit');
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toEqual([
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="0",group="audit",tenant="public"} 2',
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="0",group="billing",tenant="public"} 1',
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="1",group="audit",tenant="public"} 1',
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="2",group="audit",tenant="public"} 1',
    ]);
    expect(await health(metrics)).toEqual({ awaiting: 0, unattributed: 0 });
  });

  it('counts as unattributed, without a group, what a per-client or overall cap cannot keep', async () => {
    // Two topic-partitions per client are kept; the third of alice's is not.
    stats.fetch.fetched(alice, 1, ORDERS, 0, fetchedRecords(1, 1));
    stats.fetch.fetched(alice, 1, ORDERS, 1, fetchedRecords(1, 1));
    stats.fetch.fetched(alice, 1, ORDERS, 2, fetchedRecords(1, 4));
    // A kept topic-partition takes more counts without a new entry.
    stats.fetch.fetched(alice, 1, ORDERS, 0, fetchedRecords(1, 1));
    // Three in all: bob's first is kept, his second is not.
    stats.fetch.fetched(bob, 2, OTHER, 0, fetchedRecords(1, 2));
    stats.fetch.fetched(bob, 2, OTHER, 1, fetchedRecords(1, 3));
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toEqual([
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="2",tenant="public"} 4',
      'kop_server_MESSAGE_OUT{topic="persistent://acme/eu/payments",partition="1",tenant="acme"} 3',
    ]);
    expect(await health(metrics)).toEqual({ awaiting: 5, unattributed: 7 });
  });

  it('gives up kept counts at the age limit: counted without a group and as unattributed', async () => {
    stats.fetch.fetched(alice, 1, ORDERS, 0, fetchedRecords(1, 5));
    now = 500;
    stats.fetch.fetched(bob, 2, ORDERS, 0, fetchedRecords(1, 3));
    now = 1000;
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toEqual([
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="0",tenant="public"} 5',
    ]);
    expect(await health(metrics)).toMatchObject({ unattributed: 5 });
    // An answer after the limit finds nothing of alice's; bob's counts still wait for theirs.
    groups.answer(alice, 'billing');
    groups.answer(bob, 'audit');
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toEqual([
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="0",tenant="public"} 5',
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="0",group="audit",tenant="public"} 3',
    ]);
    expect(await health(metrics)).toMatchObject({ awaiting: 0 });
  });

  it('makes room at a cap from counts past the age limit', async () => {
    stats.fetch.fetched(alice, 1, ORDERS, 0, fetchedRecords(1, 1));
    stats.fetch.fetched(alice, 1, ORDERS, 1, fetchedRecords(1, 1));
    now = 1000;
    stats.fetch.fetched(alice, 1, ORDERS, 2, fetchedRecords(1, 4));
    groups.answer(alice, 'billing');
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toContain(
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="2",group="billing",tenant="public"} 4',
    );
    expect(await health(metrics)).toMatchObject({ unattributed: 2 });
  });

  it('stops listening to the resolver when closed', () => {
    expect(groups.listeners.size).toBe(1);
    stats.close();
    expect(groups.listeners.size).toBe(0);
  });
});

describe('Kafka stats with cardinality guards', () => {
  const carol: ClientKey = { clientHost: '10.0.0.3', clientId: 'carol' };
  const dave: ClientKey = { clientHost: '10.0.0.4', clientId: 'dave' };

  function guarded(denyPatterns: string[], partitionLabel: boolean) {
    const metrics = createHostMetrics();
    const groups = new FakeResolver();
    const series = { allowPatterns: [], denyPatterns, partitionLabel };
    const stats = createKafkaStats(metrics, groups, { series: createSeriesPolicy(series) });
    groups.answer(alice, 'billing');
    groups.answer(bob, 'console-consumer-1');
    groups.answer(carol, 'console-consumer-2');
    groups.answer(dave, null);
    return { metrics, stats };
  }

  it("sums a denied group's consumption under group=__other__, per topic-partition", async () => {
    const { metrics, stats } = guarded(['console-consumer-.*'], true);
    stats.fetch.fetched(alice, 1, ORDERS, 0, fetchedRecords(1, 1));
    stats.fetch.fetched(bob, 2, ORDERS, 0, fetchedRecords(1, 2));
    stats.fetch.fetched(carol, 3, ORDERS, 0, fetchedRecords(2, 3));
    stats.fetch.fetched(carol, 3, ORDERS, 1, fetchedRecords(1, 4));
    stats.fetch.fetched(dave, 4, ORDERS, 0, fetchedRecords(1, 5));
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toEqual([
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="0",group="billing",tenant="public"} 1',
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="0",group="__other__",tenant="public"} 8',
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="1",group="__other__",tenant="public"} 4',
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",partition="0",tenant="public"} 5',
    ]);
    expect(await samples(metrics, 'kop_server_ENTRIES_OUT')).toContain(
      'kop_server_ENTRIES_OUT{topic="persistent://public/default/orders",partition="0",group="__other__",tenant="public"} 3',
    );
    const bytes = fetchedRecords(1, 2).length + fetchedRecords(2, 3).length;
    expect(await samples(metrics, 'kop_server_BYTES_OUT')).toContain(
      `kop_server_BYTES_OUT{topic="persistent://public/default/orders",partition="0",group="__other__",tenant="public"} ${bytes}`,
    );
  });

  it('sums series over partitions, produced and fetched, without the partition label', async () => {
    const { metrics, stats } = guarded([], false);
    stats.produce.appended(ORDERS, 0, 3, 120);
    stats.produce.appended(ORDERS, 1, 2, 80);
    stats.produce.appended(OTHER, 4, 1, 70);
    stats.fetch.fetched(alice, 1, ORDERS, 0, fetchedRecords(1, 1));
    stats.fetch.fetched(alice, 1, ORDERS, 1, fetchedRecords(1, 2));
    stats.fetch.fetched(alice, 1, ORDERS, 2, fetchedRecords(1, 3));
    stats.fetch.fetched(dave, 4, ORDERS, 1, fetchedRecords(1, 4));
    stats.fetch.fetched(dave, 4, ORDERS, 0, fetchedRecords(1, 5));
    expect(await samples(metrics, 'kop_server_MESSAGE_IN')).toEqual([
      'kop_server_MESSAGE_IN{topic="persistent://public/default/orders",tenant="public"} 5',
      'kop_server_MESSAGE_IN{topic="persistent://acme/eu/payments",tenant="acme"} 1',
    ]);
    expect(await samples(metrics, 'kop_server_BYTES_IN')).toEqual([
      'kop_server_BYTES_IN{topic="persistent://public/default/orders",tenant="public"} 200',
      'kop_server_BYTES_IN{topic="persistent://acme/eu/payments",tenant="acme"} 70',
    ]);
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toEqual([
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",group="billing",tenant="public"} 6',
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",tenant="public"} 9',
    ]);
    expect(await samples(metrics, 'kop_server_ENTRIES_OUT')).toEqual([
      'kop_server_ENTRIES_OUT{topic="persistent://public/default/orders",group="billing",tenant="public"} 3',
      'kop_server_ENTRIES_OUT{topic="persistent://public/default/orders",tenant="public"} 2',
    ]);
  });

  it('folds both ways at once: one __other__ series per topic', async () => {
    const { metrics, stats } = guarded(['console-consumer-.*'], false);
    stats.fetch.fetched(bob, 2, ORDERS, 0, fetchedRecords(1, 2));
    stats.fetch.fetched(carol, 3, ORDERS, 1, fetchedRecords(1, 3));
    stats.fetch.fetched(carol, 3, OTHER, 1, fetchedRecords(1, 4));
    expect(await samples(metrics, 'kop_server_MESSAGE_OUT')).toEqual([
      'kop_server_MESSAGE_OUT{topic="persistent://public/default/orders",group="__other__",tenant="public"} 5',
      'kop_server_MESSAGE_OUT{topic="persistent://acme/eu/payments",group="__other__",tenant="acme"} 4',
    ]);
  });
});
