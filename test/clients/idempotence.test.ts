/**
 * A librdkafka producer with enable.idempotence=true whose connections to the partition's leader
 * are cut mid-stream: it retries what was in flight, and the log holds every message exactly
 * once, in order. Every broker is reached through its own proxy, which it advertises.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, startTestBroker, TEST_BROKERS, type TestBroker } from '../helpers/broker.js';
import { createTopic } from '../helpers/group-clients.js';
import { PY_CLIENTS, PYTHON, run } from '../helpers/processes.js';
import { leaderOf } from '../helpers/raw-client.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

describe('idempotent producer across cut connections', () => {
  const proxies: TcpProxy[] = [];
  let broker: TestBroker;
  let bootstrap: string;

  beforeAll(async () => {
    // Broker i advertises the proxy on the i-th port from the first broker's advertised one.
    const first = await freePorts(TEST_BROKERS);
    for (let i = 0; i < TEST_BROKERS; i++) {
      proxies.push(new TcpProxy());
      await proxies[i].listen(first + i);
    }
    broker = await startTestBroker({
      kafkaAdvertisedListeners: `PLAINTEXT://127.0.0.1:${first}`,
    });
    broker.services.forEach((s, i) => (proxies[i].targetPort = s.listeners[0].port));
    bootstrap = proxies.map((p) => `127.0.0.1:${p.port}`).join(',');
  });
  afterAll(async () => {
    for (const p of proxies) await p.close();
    await broker?.stop();
  });

  it('leaves no duplicate and no gap', async () => {
    const topic = 'idempotent';
    const count = 60_000;
    await run('kcat', ['-P', '-b', bootstrap, '-t', 'warmup'], { input: 'x\n' });
    await createTopic(bootstrap, topic, 1);
    const leader = await leaderOf(broker.port, topic, 0);
    const proxy = proxies.find((p) => p.port === leader.port)!;
    expect(proxy).toBeDefined();
    const producer = spawn(PYTHON, [
      `${PY_CLIENTS}/confluent_idempotent_producer.py`,
      bootstrap,
      topic,
      String(count),
    ]);
    let out = '';
    producer.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => producer.once('exit', resolve));

    // Cut every connection to the leader each time another ~300 KB has gone to it, while the
    // producer runs.
    let next = proxy.forwardedBytes + 300_000;
    const cutter = setInterval(() => {
      if (proxy.forwardedBytes >= next && proxy.cuts < 5) {
        proxy.cutAll();
        next = proxy.forwardedBytes + 300_000;
      }
    }, 5);
    const code = await exited;
    clearInterval(cutter);
    expect(code).toBe(0);
    expect(proxy.cuts).toBeGreaterThanOrEqual(3);
    const report = JSON.parse(out) as { delivered: number; errors: string[]; undelivered: number };
    expect(report).toEqual({ delivered: count, errors: [], undelivered: 0 });

    const { stdout } = await run(
      'kcat',
      ['-C', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-f', '%s\n'],
      {
        timeoutMs: 120_000,
      },
    );
    const values = stdout.trim().split('\n');
    expect(values.length).toBe(count);
    expect(values.every((v, i) => v === `seq-${i}`)).toBe(true);
  }, 180_000);
});
