/**
 * End-to-end throughput: a broker process (the built `koppa standalone`) on loopback, driven by
 * kcat (librdkafka) and kafkajs, for several message sizes. Prints messages/s and MB/s.
 * Run with `npm run bench` (which builds first).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePort } from '../test/helpers/broker-process.js';
import { readPartitionWithKafkajs } from '../test/helpers/kafkajs-reader.js';

const ROOT = resolve(import.meta.dirname, '..');
const CASES = [
  { size: 100, count: 200_000 },
  { size: 1024, count: 100_000 },
  { size: 10 * 1024, count: 10_000 },
];

function report(client: string, op: string, size: number, count: number, seconds: number): void {
  const mb = (size * count) / 1e6 / seconds;
  console.log(
    `${client.padEnd(8)} ${op.padEnd(8)} ${String(size).padStart(6)} B  ${String(count).padStart(7)} msgs  ` +
      `${Math.round(count / seconds)
        .toLocaleString('en-US')
        .padStart(9)} msg/s  ${mb.toFixed(1).padStart(7)} MB/s`,
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'koppa-bench-'));
  const port = await freePort();
  const bootstrap = `127.0.0.1:${port}`;
  const broker = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/koppa.js'),
      'standalone',
      '--brokers',
      '1',
      '--http-port',
      '0',
      '--data-dir',
      join(dir, 'data'),
      '--kafka-listeners',
      `PLAINTEXT://${bootstrap}`,
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((ready, fail) => {
    broker.stdout.on('data', (d: Buffer) => d.toString().includes('listening on') && ready());
    broker.once('exit', (code) => fail(new Error(`broker exited with ${code}`)));
  });

  try {
    console.log(
      `broker: koppa standalone (file store) on ${bootstrap}; acks=1 producers; 1 partition per topic\n`,
    );
    for (const { size, count } of CASES) {
      const file = join(dir, `messages-${size}.txt`);
      writeFileSync(file, `${'m'.repeat(size - 1)}\n`.repeat(count));
      const topic = `kcat-bench-${size}`;
      let t = process.hrtime.bigint();
      execFileSync('kcat', [
        '-P',
        '-b',
        bootstrap,
        '-t',
        topic,
        '-p',
        '0',
        '-l',
        '-X',
        'linger.ms=5',
        '-X',
        'batch.size=1000000',
        file,
      ]);
      report('kcat', 'produce', size, count, Number(process.hrtime.bigint() - t) / 1e9);
      t = process.hrtime.bigint();
      const out = execFileSync(
        'kcat',
        ['-C', '-b', bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '.'],
        {
          maxBuffer: 1 << 30,
        },
      );
      const secs = Number(process.hrtime.bigint() - t) / 1e9;
      if (out.length !== count) throw new Error(`kcat read ${out.length} of ${count}`);
      report('kcat', 'fetch', size, count, secs);
    }

    const kafka = new Kafka({
      brokers: [bootstrap],
      clientId: 'koppa-bench',
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    for (const { size, count } of CASES) {
      const topic = `kafkajs-bench-${size}`;
      const value = Buffer.alloc(size, 'k');
      const perBatch = Math.max(1, Math.min(1000, Math.floor(1_000_000 / size)));
      const inFlight = 4;
      let t = process.hrtime.bigint();
      for (let sent = 0; sent < count;) {
        const sends = [];
        for (let i = 0; i < inFlight && sent < count; i++) {
          const n = Math.min(perBatch, count - sent);
          sends.push(
            producer.send({
              topic,
              acks: 1,
              messages: Array.from({ length: n }, () => ({ value })),
            }),
          );
          sent += n;
        }
        await Promise.all(sends);
      }
      report('kafkajs', 'produce', size, count, Number(process.hrtime.bigint() - t) / 1e9);
      t = process.hrtime.bigint();
      const read = await readPartitionWithKafkajs(bootstrap, topic, 0, count, 120_000);
      const secs = Number(process.hrtime.bigint() - t) / 1e9;
      if (read.length < count) throw new Error(`kafkajs read ${read.length} of ${count}`);
      report('kafkajs', 'fetch', size, count, secs);
    }
    await producer.disconnect();
  } finally {
    broker.kill('SIGTERM');
    await new Promise((done) => broker.once('exit', done));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
