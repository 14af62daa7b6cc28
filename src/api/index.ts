/**
 * The host's public API: the only module protocol handlers import from the host.
 */
export type {
  HostContext,
  ListenerInfo,
  ProtocolHandler,
  ProtocolHandlerFactory,
  ProtocolHandlerManifest,
} from '../host/protocol-handler.js';
export type { RawConfig } from '../config/sources.js';
export { logDefaults, type HostConfig } from '../config/host-config.js';
export {
  ConfigError,
  bool,
  int,
  list,
  oneOf,
  optionalStr,
  parseConfig,
  str,
} from '../config/fields.js';
export type { Logger } from '../logging/logger.js';
export type {
  HostMetrics,
  MetricLabels,
  ReadSeries,
  ScrapedMetric,
} from '../metrics/host-metrics.js';
export { HttpError, type HttpRequest, type HttpRoutes, type JsonHandler } from '../http/routes.js';
export { PeerError, type PeerClient, type PeerRequestOptions } from '../http/peers.js';
export * from '../metadata/types.js';
export * from '../storage/types.js';
export type {
  BrokerInfo,
  ClusterView,
  Ownership,
  OwnershipEvent,
  OwnershipListener,
} from '../cluster/types.js';
export { resolveLogConfig } from '../storage/log-config.js';
export { Limiter, type LimiterSlot } from '../storage/limiter.js';

export * as batchHeader from '../storage/batch-header.js';
export {
  TopicExistsError,
  TopicRegistry,
  UnknownTopicError,
  type TopicMetadata,
} from '../topics/topic-registry.js';
