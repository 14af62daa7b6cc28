import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseArgs } from '../../../src/cli/args.js';
import { ConfigError } from '../../../src/config/fields.js';
import { parseHostConfig } from '../../../src/config/host-config.js';
import { readConfigFile, readEnvironment } from '../../../src/config/sources.js';
import { parseKafkaConfig } from '../../../plugins/kafka/config.js';

describe('configuration sources', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'koppa-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads Pulsar-style properties files, ignoring comments', async () => {
    const file = join(dir, 'broker.conf');
    await writeFile(
      file,
      '# a comment\nbrokerId=3\nkafkaListeners = PLAINTEXT://127.0.0.1:9999\n\n',
    );
    expect(readConfigFile(file)).toEqual({
      brokerId: '3',
      kafkaListeners: 'PLAINTEXT://127.0.0.1:9999',
    });
  });

  it('reads JSON files and rejects a non-object', async () => {
    const good = join(dir, 'broker.json');
    await writeFile(good, JSON.stringify({ brokerId: 2, messagingProtocols: ['kafka'] }));
    expect(parseHostConfig(readConfigFile(good)).brokerId).toBe(2);
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '[1,2]');
    expect(() => readConfigFile(bad)).toThrow(ConfigError);
  });

  it('maps KOPPA_ environment variables to camelCase keys', () => {
    expect(
      readEnvironment({
        KOPPA_KAFKA_LISTENERS: 'PLAINTEXT://h:1',
        KOPPA_BROKER_ID: '7',
        PATH: '/bin',
      }),
    ).toEqual({
      kafkaListeners: 'PLAINTEXT://h:1',
      brokerId: '7',
    });
  });

  it('parses flags in both spellings', () => {
    const args = parseArgs([
      'broker',
      '--config',
      'x.conf',
      '--broker-id',
      '4',
      '--data-dir=/d',
      '--kafkaTenant',
      't',
    ]);
    expect(args).toEqual({
      command: 'broker',
      configFile: 'x.conf',
      flags: { brokerId: '4', dataDir: '/d', kafkaTenant: 't' },
    });
  });
});

describe('host settings', () => {
  it('has production defaults', () => {
    const config = parseHostConfig({});
    expect(config.messagingProtocols).toEqual(['kafka']);
    expect(config.protocolHandlerDirectory).toBe('plugins');
    expect(config.metadataStoreUrl).toBe('file:./data/metadata.json');
  });

  it('coerces strings and names the bad key', () => {
    expect(parseHostConfig({ brokerId: '5', messagingProtocols: 'kafka, echo' })).toMatchObject({
      brokerId: 5,
      messagingProtocols: ['kafka', 'echo'],
    });
    expect(() => parseHostConfig({ brokerId: 'five' })).toThrow(/brokerId/);
    expect(() => parseHostConfig({ messageStore: 'tape' })).toThrow(/messageStore/);
    // Bounds the store enforces are checked at start-up, not when the first log opens.
    expect(() => parseHostConfig({ logFlushIntervalMessages: '0' })).toThrow(
      /flushIntervalMessages/,
    );
  });
});

describe('kafka settings', () => {
  it('uses KoP names and defaults', () => {
    const config = parseKafkaConfig({});
    expect(config.listeners).toEqual([{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092 }]);
    expect(config.advertisedListeners).toEqual(config.listeners);
    expect(config.kafkaTenant).toBe('public');
    expect(config.kafkaNamespace).toBe('default');
    expect(config.offsetsTopicNumPartitions).toBe(50);
  });

  it('advertises a reachable host for a wildcard listener, and honours an explicit one', () => {
    expect(
      parseKafkaConfig({ kafkaListeners: 'PLAINTEXT://0.0.0.0:9092' }).advertisedListeners[0].host,
    ).toBe('127.0.0.1');
    const config = parseKafkaConfig({
      kafkaListeners: 'PLAINTEXT://0.0.0.0:9092',
      kafkaAdvertisedListeners: 'PLAINTEXT://broker-1.example:19092',
    });
    expect(config.advertisedListeners).toEqual([
      { name: 'PLAINTEXT', host: 'broker-1.example', port: 19092 },
    ]);
  });

  it('rejects listeners it cannot serve', () => {
    expect(() => parseKafkaConfig({ kafkaListeners: 'SSL://127.0.0.1:9093' })).toThrow(/PLAINTEXT/);
    expect(() => parseKafkaConfig({ kafkaListeners: '127.0.0.1:9093' })).toThrow(
      /NAME:\/\/HOST:PORT/,
    );
  });
});

describe('unknown keys', () => {
  it('are reported at start-up, so a typo does not pass unnoticed', async () => {
    const { startTestBroker } = await import('../../helpers/broker.js');
    const { captureLogs } = await import('../../helpers/log-capture.js');
    const logs = captureLogs('warn');
    const broker = await startTestBroker(
      { kafkaTennant: 'typo', messageStore: 'memory' },
      { logger: logs.logger },
    );
    await broker.stop();
    const warning = logs.records.find((r) => r.msg === 'ignoring unknown configuration keys');
    expect(warning?.keys).toEqual(['kafkaTennant']);
  });
});
