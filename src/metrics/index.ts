export {
  createHostMetrics,
  type HostMetrics,
  type MetricLabels,
  type ReadSeries,
  type ScrapedMetric,
} from './host-metrics.js';
export { exposition, processMetrics } from './process-metrics.js';
