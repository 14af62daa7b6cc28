/**
 * Node's process metrics (CPU, memory, heap, event-loop delay, GC, handles), prefixed `koppa_`.
 * They describe the process, not a broker, and prom-client's collectors never stop once started
 * (an event-loop histogram, a GC observer), so there is one set per process, created on first
 * use, which every broker of the process serves next to its own metrics.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

let processRegistry: Registry | undefined;
/** The same metrics, labelled with a cluster's name, by cluster name. */
const ofCluster = new Map<string, Registry>();

export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'koppa_' });
  }
  return processRegistry;
}

/**
 * The process metrics as a broker of `cluster` serves them: a registry of the same metric
 * objects (their collectors run once per scrape, whichever broker is scraped) whose default
 * labels add `cluster`.
 */
export function processMetricsOf(cluster: string): Registry {
  let registry = ofCluster.get(cluster);
  if (!registry) {
    registry = Registry.merge([processMetrics()]);
    registry.setDefaultLabels({ cluster });
    ofCluster.set(cluster, registry);
  }
  return registry;
}
