/**
 * The metadata store's metrics count what a store could not answer as failures, not the answers
 * that drive read-modify-write loops (a version conflict, a missing node), and say it is
 * connected until it closes.
 */
import { describe, expect, it } from 'vitest';
import {
  BadVersionError,
  InstrumentedMetadataStore,
  MemoryMetadataTree,
  NotFoundError,
} from '../../../src/metadata/index.js';
import { createHostMetrics } from '../../../src/metrics/index.js';
import { parsePrometheusText } from '../../helpers/prometheus-text.js';

async function read(registry: ReturnType<typeof createHostMetrics>['registry']) {
  const samples = parsePrometheusText(await registry.metrics());
  return (name: string, labels: Record<string, string> = {}) =>
    samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
}

describe('instrumented metadata store', () => {
  it('times every operation and counts as failures only what the store could not answer', async () => {
    const metrics = createHostMetrics();
    const inner = new MemoryMetadataTree().newSession();
    const store = new InstrumentedMetadataStore(inner, metrics);

    const stat = await store.put('/a', Buffer.from('1'));
    await store.get('/a');
    await store.exists('/a');
    await store.children('/');
    await expect(
      store.put('/a', Buffer.from('2'), { expectedVersion: stat.version + 1 }),
    ).rejects.toBeInstanceOf(BadVersionError);
    await expect(store.delete('/missing', 0)).rejects.toBeInstanceOf(NotFoundError);
    let value = await read(metrics.registry);
    const count = 'koppa_metadata_store_operation_duration_seconds_count';
    expect(value(count, { operation: 'put' })).toBe(2);
    expect(value(count, { operation: 'get' })).toBe(1);
    expect(value(count, { operation: 'exists' })).toBe(1);
    expect(value(count, { operation: 'children' })).toBe(1);
    expect(value(count, { operation: 'delete' })).toBe(1);
    expect(value('koppa_metadata_store_operation_failures_total')).toBe(0);
    expect(value('koppa_metadata_store_connected')).toBe(1);

    // The session ends under the wrapper: writes now fail for want of a store.
    await inner.close();
    await expect(store.put('/b', Buffer.from('1'))).rejects.toThrow();
    value = await read(metrics.registry);
    expect(value('koppa_metadata_store_operation_failures_total', { operation: 'put' })).toBe(1);
    expect(value(count, { operation: 'put' })).toBe(3);

    await store.close();
    value = await read(metrics.registry);
    expect(value('koppa_metadata_store_connected')).toBe(0);
  });
});
