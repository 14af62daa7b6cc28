/**
 * GET /admin/v1/brokers: the live brokers as this broker sees them, with the Kafka listeners
 * each advertises (what clients are told) and where its HTTP port is reached.
 */
import type { BrokerInfo, HttpRoutes } from '../../../src/api/index.js';
import type { KafkaBrokerContext } from '../broker-context.js';

export interface BrokerEntry {
  brokerId: number;
  rack: string | null;
  /** As advertised: `PLAINTEXT://host:port`, one per listener. */
  kafkaListeners: string[];
  /** `host:port` of the broker's HTTP port (metrics, health, admin API); null if it has none. */
  httpAddress: string | null;
}

export interface BrokersAnswer {
  answeredBy: number;
  brokers: BrokerEntry[];
}

export function addBrokerRoutes(routes: HttpRoutes, broker: KafkaBrokerContext): void {
  const { cluster } = broker.host;
  routes.get('/admin/v1/brokers', async (): Promise<BrokersAnswer> => ({
    answeredBy: broker.brokerId,
    brokers: cluster.liveBrokers().map(brokerEntry),
  }));
}

function brokerEntry(info: BrokerInfo): BrokerEntry {
  const advertised = info.protocols.kafka ?? '';
  const host = info.httpHost?.includes(':') ? `[${info.httpHost}]` : info.httpHost;
  return {
    brokerId: info.brokerId,
    rack: info.rack,
    kafkaListeners: advertised === '' ? [] : advertised.split(','),
    httpAddress: host && info.httpPort !== null ? `${host}:${info.httpPort}` : null,
  };
}
