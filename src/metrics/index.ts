export {
  createHostMetrics,
  type BrokerMetrics,
  type CachedSeries,
  type HostMetrics,
  type MetricLabels,
  type ReadSeries,
  type ScrapedMetric,
} from './host-metrics.js';
export { processMetrics } from './process-metrics.js';
