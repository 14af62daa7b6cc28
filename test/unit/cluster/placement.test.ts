import { describe, expect, it } from 'vitest';
import {
  decodeTopic,
  encodeTopic,
  ownerPath,
  partitionOfOwnerPath,
} from '../../../src/cluster/paths.js';
import { preferredBroker } from '../../../src/cluster/placement.js';
import { WorkQueue } from '../../../src/cluster/work-queue.js';

describe('placement', () => {
  it('is deterministic, spreads partitions, and moves only what a new broker wins', () => {
    const tps = Array.from({ length: 600 }, (_, p) => ({
      topic: 'persistent://t/n/x',
      partition: p,
    }));
    const three = tps.map((tp) => preferredBroker(tp, [1, 2, 3]));
    expect(tps.map((tp) => preferredBroker(tp, [3, 1, 2]))).toEqual(three);
    for (const id of [1, 2, 3]) {
      const count = three.filter((b) => b === id).length;
      expect(count).toBeGreaterThan(120);
      expect(count).toBeLessThan(280);
    }
    const four = tps.map((tp) => preferredBroker(tp, [1, 2, 3, 4]));
    tps.forEach((_, i) => {
      if (four[i] !== three[i]) expect(four[i]).toBe(4);
    });
    expect(four.filter((b) => b === 4).length).toBeGreaterThan(80);
    expect(preferredBroker(tps[0], [])).toBeUndefined();
  });
});

describe('paths', () => {
  it('encodes topic names into one path component and back', () => {
    for (const topic of ['persistent://public/default/a.b', 'persistent://t/n/%2F..', '..']) {
      const component = encodeTopic(topic);
      expect(component).not.toContain('/');
      expect(component).not.toMatch(/^\.+$/);
      expect(decodeTopic(component)).toBe(topic);
      expect(partitionOfOwnerPath(ownerPath({ topic, partition: 7 }))).toEqual({
        topic,
        partition: 7,
      });
    }
    expect(partitionOfOwnerPath('/koppa/owners/x')).toBeUndefined();
    expect(partitionOfOwnerPath('/koppa/brokers/1')).toBeUndefined();
  });
});

describe('work queue', () => {
  it('bounds concurrency, never overlaps one key, coalesces waiting tasks, retries failures', async () => {
    const errors: string[] = [];
    const queue = new WorkQueue({ limit: 3, retryDelayMs: 10, onError: (key) => errors.push(key) });
    let running = 0;
    let peak = 0;
    const runs = new Map<string, number>();
    const perKey = new Set<string>();
    const task = (key: string) => async () => {
      if (perKey.has(key)) throw new Error('overlap');
      perKey.add(key);
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      perKey.delete(key);
      runs.set(key, (runs.get(key) ?? 0) + 1);
    };
    for (let i = 0; i < 20; i++) queue.schedule(`k${i % 10}`, task(`k${i % 10}`));
    await queue.idle();
    expect(peak).toBe(3);
    // k0..k2 were running when scheduled again, so they ran twice; the waiting ones coalesced.
    expect([...runs].sort()).toEqual([
      ['k0', 2],
      ['k1', 2],
      ['k2', 2],
      ['k3', 1],
      ['k4', 1],
      ['k5', 1],
      ['k6', 1],
      ['k7', 1],
      ['k8', 1],
      ['k9', 1],
    ]);

    let attempts = 0;
    queue.schedule('flaky', async () => {
      if (++attempts < 3) throw new Error('not yet');
    });
    await new Promise<void>((resolve) => {
      const check = () => (attempts >= 3 ? resolve() : setTimeout(check, 5));
      check();
    });
    expect(errors).toEqual(['flaky', 'flaky']);
    queue.stop();
  });
});
