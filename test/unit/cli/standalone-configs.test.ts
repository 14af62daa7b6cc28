import { describe, expect, it } from 'vitest';
import { standaloneConfigs } from '../../../src/cli/standalone.js';

describe('standaloneConfigs', () => {
  it('gives each broker its id and the next ports', () => {
    const configs = standaloneConfigs({ brokers: 3, listen: '127.0.0.1:9092' });
    expect(configs.map((c) => [c.brokerId, c.kafkaListeners, c.webServicePort])).toEqual([
      [0, 'PLAINTEXT://127.0.0.1:9092', 8080],
      [1, 'PLAINTEXT://127.0.0.1:9093', 8081],
      [2, 'PLAINTEXT://127.0.0.1:9094', 8082],
    ]);
  });

  it("takes advertised listeners as the first broker's: the others advertise the next ports", () => {
    const advertised = (brokers: number, first: string) =>
      standaloneConfigs({ brokers, listen: '0.0.0.0:0', kafkaAdvertisedListeners: first }).map(
        (c) => c.kafkaAdvertisedListeners,
      );
    expect(advertised(3, 'PLAINTEXT://kafka.example:19092')).toEqual([
      'PLAINTEXT://kafka.example:19092',
      'PLAINTEXT://kafka.example:19093',
      'PLAINTEXT://kafka.example:19094',
    ]);
    // Port 0 stays 0: each broker advertises the port it bound.
    expect(advertised(2, 'PLAINTEXT://127.0.0.1:0')).toEqual([
      'PLAINTEXT://127.0.0.1:0',
      'PLAINTEXT://127.0.0.1:0',
    ]);
  });

  it('refuses kafkaListeners for several brokers', () => {
    expect(() =>
      standaloneConfigs({ brokers: 2, kafkaListeners: 'PLAINTEXT://127.0.0.1:9092' }),
    ).toThrow(/--listen/);
  });
});
