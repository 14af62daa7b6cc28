/**
 * The dashboards, recording rules and alerts the repository ships, run against a live cluster
 * by a real Prometheus: ZooKeeper and three `koppa broker` processes, real clients, and
 * Debian's Prometheus scraping every broker each second with the repository's rule files.
 *
 * Traffic: two consumer groups keep up with their topics (kafkajs); `slow-app` falls behind
 * while it commits as it goes; `audit-archiver` is stuck
 * (it commits once, at a batch written an hour ago, then keeps its member in the group,
 * paused, while its topic grows); one client without a group fetches more partitions of one
 * broker than the broker may hold aside while it learns the client's group, so the excess is
 * counted as unattributed; one fetch asks beyond a log's end (OFFSET_OUT_OF_RANGE).
 *
 * Then every panel target and template variable of every dashboard (variables substituted: the
 * cluster by its name, the others by Grafana's "All", `.*`; `$__rate_interval` by 15s) and
 * every recording rule must return data; the stuck-group, lag and unattributed-traffic alerts
 * must fire (and not for the healthy groups); a broker killed must fire KoppaBrokerDown, and
 * ZooKeeper gone KoppaMetadataStoreDisconnected.
 *
 * The one change made to the shipped rules: every `for:` is shortened to 1s, so that alerts
 * fire within the test. Expressions, thresholds, windows and labels are the repository's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Kafka,
  logLevel,
  type Admin,
  type Consumer,
  type ConsumerConfig,
  type Producer,
} from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey, ErrorCode, errorName } from '../../plugins/kafka/protocol/index.js';
import { DEFAULT_AWAITING } from '../../plugins/kafka/stats/index.js';
import { ProcessCluster } from '../helpers/process-cluster.js';
import {
  startPrometheus,
  type ActiveAlert,
  type PrometheusServer,
} from '../helpers/prometheus-server.js';
import { scrape } from '../helpers/prometheus-text.js';
import { fetchRequest, openLeader, RawConnection } from '../helpers/raw-client.js';
import { waitFor } from '../helpers/wait.js';
import { Workload, type GroupSpec } from '../helpers/workload.js';
import { readYaml } from '../helpers/yaml.js';
import {
  describe as where,
  legendLabels,
  loadDashboards,
  parseLabelValues,
  ROOT,
  substitute,
  variableQuery,
} from './dashboards.js';

const CLUSTER_NAME = 'observability-test';
const RULES_DIR = join(ROOT, 'prometheus/rules');
/** Every alert's `for:` in this test (the only change made to the shipped rules). */
const FOR_IN_TEST = '1s';
const HOUR_MS = 3_600_000;
const BROKERS = 3;

const HEALTHY: GroupSpec[] = [
  {
    group: 'orders-app',
    topic: 'orders',
    members: ['kafkajs', 'kafkajs'],
    clientIds: ['orders-app-0', 'orders-app-1'],
  },
  { group: 'payments-app', topic: 'payments', members: ['kafkajs'], clientIds: ['payments-app-0'] },
];
/** Reads `orders` too slowly to keep up, committing as it goes: lagging, not stuck. */
const SLOW_GROUP = 'slow-app';
const STUCK_GROUP = 'audit-archiver';
const STUCK_TOPIC = 'audit';
const PARTITIONS = 2;
/** One topic, spread over the brokers so that one of them leads more partitions than a client may have waiting for its group (pigeonhole). */
const WIDE_TOPIC = 'wide';
const WIDE_PARTITIONS = BROKERS * (DEFAULT_AWAITING.maxPerClient + 1);

/** Grafana's variables as the test fills them in. */
const VARIABLES = {
  cluster: CLUSTER_NAME,
  group: '.*',
  topic: '.*',
  instance: '.*',
  __rate_interval: '15s',
  __interval: '5s',
  __range: '5m',
};

const fullName = (topic: string) => `persistent://public/default/${topic}`;

/** The shipped rule files, `for:` shortened; how many durations were shortened. */
function rulesForTest(): { files: Record<string, string>; shortened: number } {
  const files: Record<string, string> = {};
  let shortened = 0;
  for (const file of readdirSync(RULES_DIR).filter((f) => f.endsWith('.yml'))) {
    files[`rules/${file}`] = readFileSync(join(RULES_DIR, file), 'utf8').replace(
      /^(\s+)for: \S+$/gm,
      (_, indent: string) => {
        shortened++;
        return `${indent}for: ${FOR_IN_TEST}`;
      },
    );
  }
  return { files, shortened };
}

interface RuleFile {
  groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
}

function shippedRules(): { alert?: string; record?: string; expr: string }[] {
  return readdirSync(RULES_DIR)
    .filter((f) => f.endsWith('.yml'))
    .flatMap((f) => (readYaml(join(RULES_DIR, f)) as RuleFile).groups.flatMap((g) => g.rules));
}

/** The shipped prometheus.yml, scraping the test's brokers every second. */
function prometheusConfig(httpPorts: number[]): Record<string, unknown> {
  const shipped = readYaml(join(ROOT, 'prometheus/prometheus.yml')) as {
    global: Record<string, unknown>;
    scrape_configs: { job_name: string }[];
  };
  const koppa = shipped.scrape_configs.find((job) => job.job_name === 'koppa');
  if (!koppa) throw new Error('prometheus/prometheus.yml has no job "koppa"');
  return {
    ...shipped,
    global: {
      ...shipped.global,
      scrape_interval: '1s',
      scrape_timeout: '1s',
      evaluation_interval: '1s',
    },
    scrape_configs: [
      { ...koppa, static_configs: [{ targets: httpPorts.map((p) => `127.0.0.1:${p}`) }] },
    ],
  };
}

/**
 * Evaluates `checks` until each has returned data (removing those that have), or the time limit
 * passes; returns what never did, with the reason.
 */
async function untilAllAnswer(
  prometheus: PrometheusServer,
  checks: { name: string; expr: string; labels?: string[] }[],
  timeoutMs: number,
): Promise<string[]> {
  let pending = checks.map((c) => ({ ...c, reason: 'not evaluated' }));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const check of pending) {
      try {
        const result = await prometheus.query(check.expr);
        if (result.length === 0) {
          check.reason = 'no data';
          continue;
        }
        const missing = (check.labels ?? []).filter((l) => !result.some((s) => s.metric[l]));
        check.reason = missing.length ? `no series has the legend's ${missing.join(', ')}` : '';
      } catch (err) {
        check.reason = (err as Error).message;
      }
    }
    pending = pending.filter((c) => c.reason !== '');
    if (pending.length === 0 || Date.now() > deadline) {
      return pending.map((c) => `${c.name}: ${c.reason}\n    ${c.expr.replaceAll('\n', ' ')}`);
    }
    await sleep(1000);
  }
}

/** Waits for alerts (by name and some labels) to be firing; returns the firing ones. */
async function untilFiring(
  prometheus: PrometheusServer,
  wanted: { alertname: string; [label: string]: string }[],
  timeoutMs: number,
): Promise<ActiveAlert[]> {
  const matches = (alert: ActiveAlert, labels: Record<string, string>) =>
    alert.state === 'firing' && Object.entries(labels).every(([k, v]) => alert.labels[k] === v);
  let alerts: ActiveAlert[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    alerts = await prometheus.alerts();
    if (wanted.every((w) => alerts.some((a) => matches(a, w)))) return alerts;
    if (Date.now() > deadline) {
      const missing = wanted.filter((w) => !alerts.some((a) => matches(a, w)));
      throw new Error(
        `not firing within ${timeoutMs} ms: ${JSON.stringify(missing)}\nactive: ${JSON.stringify(
          alerts.map((a) => ({ ...a.labels, state: a.state })),
        )}`,
      );
    }
    await sleep(250);
  }
}

describe('dashboards, recording rules and alerts on a live cluster', () => {
  let cluster: ProcessCluster;
  let prometheus: PrometheusServer;
  let workload: Workload | undefined;
  let admin: Admin | undefined;
  let producer: Producer | undefined;
  let stuck: Consumer | undefined;
  let slow: Consumer | undefined;
  /** The broker the client without a group fetched the wide topic from. */
  let wideBroker: number;
  let shortened: number;
  const started = Date.now();

  beforeAll(async () => {
    cluster = await ProcessCluster.start({
      brokers: BROKERS,
      sessionTimeoutMs: 10_000,
      settings: {
        clusterName: CLUSTER_NAME,
        consumerLagIntervalMs: 1000,
        groupInitialRebalanceDelayMs: 500,
      },
    });
    const rules = rulesForTest();
    shortened = rules.shortened;
    prometheus = await startPrometheus({
      config: prometheusConfig(cluster.httpPorts),
      files: rules.files,
    });

    const kafka = new Kafka({
      brokers: cluster.bootstrap,
      clientId: 'observability-test',
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    admin = kafka.admin();
    await admin.connect();
    const topics = [...HEALTHY.map((g) => g.topic), STUCK_TOPIC];
    await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS })),
      waitForLeaders: true,
    });
    // The stuck group's topic starts with a batch per partition written an hour ago.
    producer = kafka.producer();
    await producer.connect();
    const old = await producer.send({
      topic: STUCK_TOPIC,
      acks: -1,
      messages: Array.from({ length: PARTITIONS }, (_, partition) => ({
        partition,
        value: 'archived an hour ago',
        timestamp: String(Date.now() - HOUR_MS),
      })),
    });
    expect(old.map((r) => r.baseOffset)).toEqual(Array(PARTITIONS).fill('0'));

    workload = new Workload(
      cluster.bootstrap,
      [...HEALTHY, { group: STUCK_GROUP, topic: STUCK_TOPIC, members: [] }],
      PARTITIONS,
    );
    await workload.begin();
    stuck = await startStuckMember(cluster.bootstrap);
    slow = await startSlowMember(cluster.bootstrap);
    await waitFor(
      `${STUCK_GROUP} to commit offset 0 on every partition`,
      async () => {
        const [offsets] = await admin!.fetchOffsets({
          groupId: STUCK_GROUP,
          topics: [STUCK_TOPIC],
        });
        return offsets.partitions.every((p) => p.offset === '0');
      },
      30_000,
      250,
    );

    // A client without a group fetches every partition of the wide topic one broker leads: the
    // broker holds aside at most maxPerClient of them while it learns the client has no group,
    // and counts the rest as unattributed. Prometheus must have seen the counter before. (The
    // topic comes last: while thousands of partitions wait for owners, kafkajs clients that
    // ask for every topic's metadata fail on the leaderless ones.)
    const leaders = await createWideTopic(cluster.ports[0]);
    await producer.send({
      topic: WIDE_TOPIC,
      acks: -1,
      messages: Array.from({ length: WIDE_PARTITIONS }, (_, partition) => ({
        partition,
        value: 'one',
      })),
    });
    const [broker, partitions] = [...leaders].sort((a, b) => b[1].length - a[1].length)[0];
    wideBroker = broker;
    expect(partitions.length).toBeGreaterThan(DEFAULT_AWAITING.maxPerClient);
    const instance = `127.0.0.1:${cluster.httpPorts[broker]}`;
    await waitFor(
      'Prometheus to scrape koppa_fetch_unattributed_messages_total before the fetch',
      async () =>
        (await prometheus.query(`koppa_fetch_unattributed_messages_total{instance="${instance}"}`))
          .length > 0,
      15_000,
      200,
    );
    const reader = await RawConnection.open(cluster.ports[broker], '127.0.0.1', 'no-group-reader');
    try {
      const request = fetchRequest(
        WIDE_TOPIC,
        partitions.map((partition) => ({ partition, fetchOffset: 0 })),
      );
      const { body } = await reader.request(ApiKey.Fetch, 12, request, 1, 30_000);
      const answered = body.responses[0].partitions;
      expect(answered.filter((p) => p.errorCode === 0)).toHaveLength(partitions.length);
    } finally {
      reader.close();
    }
    const unattributed = (await scrape(cluster.httpPorts[broker])).find(
      (s) => s.name === 'koppa_fetch_unattributed_messages_total',
    );
    expect(unattributed?.value).toBeGreaterThan(0);

    // A Kafka error the errors panel and rule must show.
    const leader = await openLeader(cluster.ports[0], 'orders', 0);
    try {
      const beyond = await leader.fetchPartition('orders', 0, 1_000_000_000);
      expect(beyond.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    } finally {
      leader.close();
    }
    console.log(`observability: traffic in place after ${(Date.now() - started) / 1000} s`);
  }, 150_000);

  afterAll(async () => {
    await stuck?.disconnect().catch(() => undefined);
    await slow?.disconnect().catch(() => undefined);
    await workload?.close();
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await prometheus?.stop();
    await cluster?.close();
    console.log(`observability: done in ${(Date.now() - started) / 1000} s`);
  }, 60_000);

  it('scrapes every broker and loads the shipped rules, only their for: shortened', async () => {
    const shipped = shippedRules();
    expect(shortened).toBe(shipped.filter((r) => r.alert).length);
    await waitFor(
      'every broker to be scraped',
      async () => (await prometheus.targets()).every((t) => t.health === 'up'),
      15_000,
      250,
    );
    expect((await prometheus.targets()).map((t) => t.labels.job)).toEqual(
      Array(BROKERS).fill('koppa'),
    );
    const loaded = await prometheus.rules();
    expect(loaded.map((r) => r.name).sort()).toEqual(
      shipped.map((r) => r.alert ?? r.record).sort(),
    );
    for (const rule of loaded.filter((r) => r.type === 'alerting')) {
      expect(rule.duration, rule.name).toBe(1);
    }
    const unhealthy = loaded.filter((r) => r.health !== 'ok' || (r.lastError ?? '') !== '');
    expect(unhealthy.map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
  });

  it('lists the cluster, its groups, topics and brokers in the template variables', async () => {
    const failures: string[] = [];
    for (const dashboard of loadDashboards()) {
      for (const variable of dashboard.variables) {
        const { selector, label } = parseLabelValues(
          substitute(variableQuery(variable), VARIABLES),
        );
        const values = new Set(
          (await prometheus.series(selector)).map((s) => s[label]).filter((v) => v !== undefined),
        );
        const expected: Record<string, string[]> = {
          cluster: [CLUSTER_NAME],
          group: [...HEALTHY.map((g) => g.group), SLOW_GROUP, STUCK_GROUP],
          topic: [...HEALTHY.map((g) => g.topic), STUCK_TOPIC].map(fullName),
          instance: cluster.httpPorts.map((p) => `127.0.0.1:${p}`),
        };
        const absent = (expected[variable.name] ?? []).filter((v) => !values.has(v));
        if (absent.length > 0 || values.size === 0) {
          failures.push(
            `${dashboard.json.title} $${variable.name} (${selector}): lacks ${absent.join(', ')}; has ${[...values].join(', ')}`,
          );
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('answers every panel target of every dashboard with data', async () => {
    const checks = loadDashboards().flatMap((dashboard) =>
      dashboard.targets.map(({ panel, target }) => ({
        name: where(dashboard, panel, target),
        expr: substitute(target.expr, VARIABLES),
        labels: legendLabels(target.legendFormat),
      })),
    );
    expect(checks.length).toBeGreaterThan(40);
    const failures = await untilAllAnswer(prometheus, checks, 30_000);
    expect(failures).toEqual([]);
  }, 60_000);

  it('answers every recording rule with data, the Fetch error included', async () => {
    const rules = (await prometheus.rules()).filter((r) => r.type === 'recording');
    const checks = [
      ...rules.map((r) => ({ name: r.name, expr: r.query })),
      ...rules.map((r) => ({ name: `${r.name} (recorded)`, expr: r.name })),
      {
        name: 'Fetch OFFSET_OUT_OF_RANGE',
        expr: 'cluster_api_error:koppa_kafka_request_errors:rate1m{api="Fetch", error="OFFSET_OUT_OF_RANGE"}',
      },
      {
        name: `${STUCK_GROUP} lag in seconds`,
        expr: `cluster_group_topic:koppa_consumer_group_lag_seconds:max{group="${STUCK_GROUP}"} > 3000`,
      },
    ];
    const failures = await untilAllAnswer(prometheus, checks, 30_000);
    expect(failures).toEqual([]);
  }, 60_000);

  it('fires the stuck-group, lag and unattributed-traffic alerts, not for other groups or brokers', async () => {
    const alerts = await untilFiring(
      prometheus,
      [
        { alertname: 'KoppaConsumerGroupStuck', group: STUCK_GROUP, cluster: CLUSTER_NAME },
        { alertname: 'KoppaConsumerGroupLagHigh', group: STUCK_GROUP, cluster: CLUSTER_NAME },
        {
          alertname: 'KoppaUnattributedFetches',
          instance: `127.0.0.1:${cluster.httpPorts[wideBroker]}`,
        },
      ],
      45_000,
    );
    const stuckPartitions = alerts
      .filter((a) => a.labels.alertname === 'KoppaConsumerGroupStuck' && a.state === 'firing')
      .map((a) => `${a.labels.topic}/${a.labels.partition}`);
    expect(stuckPartitions.length).toBeGreaterThan(0);
    for (const p of stuckPartitions) expect(p).toMatch(`${fullName(STUCK_TOPIC)}/`);
    // The slow group lags more and more, but its committed offsets move: not stuck.
    const slowLag = await prometheus.query(
      `delta(cluster_group_topic:koppa_consumer_group_lag_messages:sum{group="${SLOW_GROUP}"}[1m]) > 0`,
    );
    expect(slowLag.length, `${SLOW_GROUP} should be falling behind`).toBeGreaterThan(0);
    const others = [...HEALTHY.map((g) => g.group), SLOW_GROUP];
    expect(
      alerts
        .filter((a) => a.labels.alertname.startsWith('KoppaConsumerGroup'))
        .filter((a) => others.includes(a.labels.group))
        .map((a) => a.labels),
    ).toEqual([]);
    expect(
      alerts
        .filter((a) => a.labels.alertname === 'KoppaUnattributedFetches')
        .map((a) => a.labels.instance),
    ).toEqual([`127.0.0.1:${cluster.httpPorts[wideBroker]}`]);
    for (const alert of alerts) {
      for (const text of Object.values(alert.annotations)) {
        expect(text).not.toMatch(/error expanding template|\{\{|<no value>/);
      }
    }
  }, 60_000);

  it('fires KoppaBrokerDown for a broker killed, and only for it', async () => {
    // The clients go first: they would retry against the dying cluster for a long time.
    await producer?.disconnect();
    producer = undefined;
    await stuck?.disconnect();
    stuck = undefined;
    await slow?.disconnect();
    slow = undefined;
    await workload?.close();
    workload = undefined;
    const victim = (wideBroker + 1) % BROKERS;
    await cluster.stopBroker(victim, 'SIGKILL');
    const instance = `127.0.0.1:${cluster.httpPorts[victim]}`;
    const alerts = await untilFiring(
      prometheus,
      [{ alertname: 'KoppaBrokerDown', instance, job: 'koppa' }],
      20_000,
    );
    expect(
      alerts.filter((a) => a.labels.alertname === 'KoppaBrokerDown').map((a) => a.labels.instance),
    ).toEqual([instance]);
  }, 60_000);

  it('fires KoppaMetadataStoreDisconnected when ZooKeeper goes away', async () => {
    await cluster.zk.stop();
    const alive = cluster.httpPorts.filter((_, id) => cluster.isRunning(id));
    await untilFiring(
      prometheus,
      alive.map((port) => ({
        alertname: 'KoppaMetadataStoreDisconnected',
        instance: `127.0.0.1:${port}`,
        cluster: CLUSTER_NAME,
      })),
      20_000,
    );
  }, 60_000);
});

/** A group's one kafkajs member (client id `<group>-0`), connected. */
async function connectMember(
  bootstrap: string[],
  groupId: string,
  options: Partial<ConsumerConfig> = {},
): Promise<Consumer> {
  const kafka = new Kafka({
    brokers: bootstrap,
    clientId: `${groupId}-0`,
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 250,
    ...options,
  });
  await consumer.connect();
  return consumer;
}

/**
 * The slow group's one member: small fetches (2 KiB a partition) and 50 ms a message, so it
 * reads about 20 messages a second of the 80 `orders` gets, committing after every batch.
 */
async function startSlowMember(bootstrap: string[]): Promise<Consumer> {
  const consumer = await connectMember(bootstrap, SLOW_GROUP, { maxBytesPerPartition: 2048 });
  await consumer.subscribe({ topic: 'orders', fromBeginning: true });
  await consumer.run({ eachMessage: () => sleep(50) });
  return consumer;
}

/** The wide topic, created; its partitions by leader once every one has one (raw requests). */
async function createWideTopic(port: number): Promise<Map<number, number[]>> {
  const conn = await RawConnection.open(port);
  try {
    expect(errorName(await conn.createTopic(WIDE_TOPIC, WIDE_PARTITIONS))).toBe('NONE');
    return await waitFor(
      `every partition of ${WIDE_TOPIC} to have a leader`,
      async () => {
        const { body } = await conn.request(ApiKey.Metadata, 12, {
          topics: [{ name: WIDE_TOPIC }],
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        });
        const partitions = body.topics[0].partitions;
        if (partitions.length !== WIDE_PARTITIONS) return undefined;
        if (partitions.some((p) => p.errorCode !== 0 || p.leaderId < 0)) return undefined;
        const byLeader = new Map<number, number[]>();
        for (const p of partitions) {
          byLeader.set(p.leaderId, [...(byLeader.get(p.leaderId) ?? []), p.partitionIndex]);
        }
        return byLeader;
      },
      90_000,
      500,
    );
  } finally {
    conn.close();
  }
}

/**
 * The stuck group's one member: commits, once per partition, the offset of the first message
 * it is given (the hour-old batch), pauses that partition, and stays in the group (kafkajs
 * heartbeats while paused) without committing again.
 */
async function startStuckMember(bootstrap: string[]): Promise<Consumer> {
  const consumer = await connectMember(bootstrap, STUCK_GROUP);
  await consumer.subscribe({ topic: STUCK_TOPIC, fromBeginning: true });
  const committed = new Set<number>();
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message, pause }) => {
      pause();
      if (committed.has(partition)) return;
      committed.add(partition);
      await consumer.commitOffsets([{ topic, partition, offset: message.offset }]);
    },
  });
  return consumer;
}
