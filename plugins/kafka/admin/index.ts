/**
 * The admin REST API on every broker's HTTP port, under /admin/v1, JSON: any broker answers for
 * the whole cluster, asking the others (on their HTTP ports) for what only they hold. One module
 * per resource: brokers, topics, groups, group-mappings, reconciler.
 */
import type { KafkaBrokerContext } from '../broker-context.js';
import type { GroupMapping } from '../group-mapping/group-mapping.js';
import { addBrokerRoutes } from './brokers.js';
import { addGroupMappingRoutes } from './group-mappings.js';
import { addGroupRoutes } from './groups.js';
import { addReconcilerRoutes } from './reconciler.js';
import { addTopicRoutes } from './topics.js';

export { kafkaReadiness } from './readiness.js';

/** Adds the routes (in `initialize`: before the HTTP port listens). */
export function addAdminRoutes(broker: KafkaBrokerContext, mapping: GroupMapping): void {
  const { host, config } = broker;
  const routes = host.http;
  addBrokerRoutes(routes, broker);
  addTopicRoutes(routes, broker, broker.logPositions);
  addGroupRoutes(routes, broker, broker.lag);
  addGroupMappingRoutes(routes, {
    brokerId: broker.brokerId,
    store: host.metadataStore,
    root: config.groupIdZooKeeperPath,
    namer: broker.namer,
  });
  addReconcilerRoutes(routes, host, {
    policy: config.groupIdLifecyclePolicy,
    intervalMs: config.groupIdReconcileIntervalMs,
    reconciler: mapping.reconciler,
  });
}
