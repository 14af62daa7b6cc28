/**
 * Node's process metrics (CPU, memory, heap, event-loop delay, GC, handles), prefixed `koppa_`.
 * They describe the process, not a broker, and prom-client's collectors never stop once started
 * (an event-loop histogram, a GC observer), so there is one set per process, created on first
 * use, which every broker of the process serves next to its own registry.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

let processRegistry: Registry | undefined;

export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'koppa_' });
  }
  return processRegistry;
}

/** A broker's `/metrics` body: its own metrics, then the process's. */
export async function exposition(registry: Registry): Promise<string> {
  const [broker, process] = await Promise.all([registry.metrics(), processMetrics().metrics()]);
  return `${broker}\n${process}`;
}
