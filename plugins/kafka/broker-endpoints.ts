/**
 * Where clients reach each live broker: the Kafka listeners every broker advertises in the
 * cluster ("PLAINTEXT://host:port,..."), matched by position to the listener a client came in
 * on, so that internal and external clients each get addresses they can use.
 */
import type { BrokerInfo, ClusterView } from '../../src/api/index.js';
import { parseListener, type Listener } from './config.js';

export interface Endpoint {
  brokerId: number;
  host: string;
  port: number;
  rack: string | null;
}

const parsed = new Map<string, Listener[]>();

function listenersOf(info: BrokerInfo): Listener[] {
  const advertised = info.protocols.kafka ?? '';
  let listeners = parsed.get(advertised);
  if (!listeners) {
    listeners = advertised === '' ? [] : advertised.split(',').map(parseListener);
    parsed.set(advertised, listeners);
  }
  return listeners;
}

export function endpointOf(info: BrokerInfo, listenerIndex: number): Endpoint | null {
  const listener = listenersOf(info)[listenerIndex];
  return listener
    ? { brokerId: info.brokerId, host: listener.host, port: listener.port, rack: info.rack }
    : null;
}

/** No controller exists: the lowest live broker id stands in, as clients only display it. */
export function controllerIdOf(cluster: ClusterView): number {
  return cluster.liveBrokers()[0]?.brokerId ?? -1;
}

/** Live brokers that serve Kafka, as clients on `listenerIndex` should reach them. */
export function liveEndpoints(cluster: ClusterView, listenerIndex: number): Endpoint[] {
  return cluster.liveBrokers().flatMap((b) => endpointOf(b, listenerIndex) ?? []);
}
