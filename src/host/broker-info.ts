/**
 * `koppa_broker_info{broker_id, version}` = 1: which broker a scrape target is and which Koppa it
 * runs (dashboards join on it, and a rolling upgrade shows as two versions at once).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostMetrics } from '../metrics/index.js';

let version: string | undefined;

/**
 * Koppa's version, from its package.json: the nearest one above this module that names koppa
 * (this module runs from src/host under tsx and from dist/src/host once built).
 */
export function koppaVersion(): string {
  if (version !== undefined) return version;
  version = 'unknown';
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 5; up++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'koppa' && typeof pkg.version === 'string') {
        version = pkg.version;
        break;
      }
    } catch {
      // no package.json here (or not readable): look further up
    }
  }
  return version;
}

export function publishBrokerInfo(metrics: HostMetrics, brokerId: number): void {
  const labels = { broker_id: String(brokerId), version: koppaVersion() };
  metrics.gauge({
    name: 'koppa_broker_info',
    help: 'Always 1: the broker id and the Koppa version this broker runs',
    labelNames: ['broker_id', 'version'],
    read: (set) => set(labels, 1),
  });
}
