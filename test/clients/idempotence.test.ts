/**
 * A librdkafka producer with enable.idempotence=true whose connections are cut mid-stream:
 * it retries what was in flight, and the log holds every message exactly once, in order.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { PY_CLIENTS, PYTHON, run } from '../helpers/processes.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

describe('idempotent producer across cut connections', () => {
  let proxy: TcpProxy;
  let broker: TestBroker;

  beforeAll(async () => {
    proxy = new TcpProxy();
    const proxyPort = await proxy.listen();
    broker = await startTestBroker({
      kafkaAdvertisedListeners: `PLAINTEXT://127.0.0.1:${proxyPort}`,
    });
    proxy.targetPort = broker.port;
  });
  afterAll(async () => {
    await proxy.close();
    await broker.stop();
  });

  it('leaves no duplicate and no gap', async () => {
    const topic = 'idempotent';
    const count = 60_000;
    await run('kcat', ['-P', '-b', `127.0.0.1:${proxy.port}`, '-t', 'warmup'], { input: 'x\n' });
    const producer = spawn(PYTHON, [
      `${PY_CLIENTS}/confluent_idempotent_producer.py`,
      `127.0.0.1:${proxy.port}`,
      topic,
      String(count),
    ]);
    let out = '';
    producer.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => producer.once('exit', resolve));

    // Cut every connection each time another ~300 KB has gone through, while the producer runs.
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
