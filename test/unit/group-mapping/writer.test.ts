/**
 * FindCoordinator's write: a new token per write, entries of other groups kept, and one bounded
 * attempt whatever the store does (it fails, hangs, or keeps changing under the write).
 */
import { describe, expect, it } from 'vitest';
import { newGroupMappingStats } from '../../../plugins/kafka/group-mapping/stats.js';
import { MappingWriter } from '../../../plugins/kafka/group-mapping/writer.js';
import { BadVersionError } from '../../../src/metadata/index.js';
import { FaultyStore, ROOT, logger, readNode, stores } from './helpers.js';

const CLIENT = { clientHost: '10.0.0.1', clientId: 'kafkajs' };
const PATH = `${ROOT}/10.0.0.1-kafkajs`;

function writer(store: FaultyStore, timeoutMs = 200) {
  const stats = newGroupMappingStats();
  return {
    stats,
    w: new MappingWriter({ store, root: ROOT, brokerId: 7, timeoutMs, logger, stats }),
  };
}

describe('the FindCoordinator writer', () => {
  it('writes a new token for each group and keeps the entries of other groups', async () => {
    const { a } = stores();
    const { w, stats } = writer(a);
    const first = await w.record(CLIENT, ['g1']);
    const second = await w.record(CLIENT, ['g2', 'g3']);
    const third = await w.record(CLIENT, ['g1']);
    expect(first).not.toBeNull();
    expect(new Set([first, second, third]).size).toBe(3);
    // Its reads are one-off: the broker answering FindCoordinator does not watch the node.
    expect(a.reads.map((r) => r.watch)).toEqual([false, false, false]);
    const node = (await readNode(a, PATH))!;
    expect([...node.groups.keys()].sort()).toEqual(['g1', 'g2', 'g3']);
    expect(node.groups.get('g1')).toMatchObject({ token: third, broker: 7 });
    expect(node.groups.get('g2')?.token).toBe(second);
    expect(stats).toMatchObject({ writes: 3, writeFailures: 0 });
  });

  it('answers at once, counting a failure, when the store fails', async () => {
    const { a } = stores();
    const { w, stats } = writer(a);
    a.fault = 'fail';
    expect(await w.record(CLIENT, ['g'])).toBeNull();
    expect(stats).toMatchObject({ writes: 0, writeFailures: 1 });
  });

  it('answers within its bound when the store hangs; the write may land later', async () => {
    const { a } = stores();
    const { w, stats } = writer(a, 100);
    a.fault = 'hang';
    const started = Date.now();
    expect(await w.record(CLIENT, ['g'])).toBeNull();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(stats).toMatchObject({ writes: 0, writeFailures: 1 });
    a.release();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The write that was under way completed: counted as such, and nothing retried it.
    expect((await readNode(a, PATH))?.groups.has('g')).toBe(true);
    expect(stats).toMatchObject({ writes: 1, writeFailures: 1 });
  });

  it('tries once more when the node changed under it, and no more', async () => {
    const { a, b } = stores();
    const { w, stats } = writer(a);
    // Another broker's write lands between each read and write of this one.
    let conflicts = 0;
    const put = a.put.bind(a);
    a.put = async (path, value, options) => {
      if (conflicts++ < 1) await b.put(path, Buffer.from('{"groups":{"other":{"token":"x"}}}'));
      return put(path, value, options);
    };
    expect(await w.record(CLIENT, ['g'])).not.toBeNull();
    expect([...(await readNode(a, PATH))!.groups.keys()].sort()).toEqual(['g', 'other']);

    a.put = async () => {
      throw new BadVersionError(PATH);
    };
    a.calls.length = 0;
    expect(await w.record(CLIENT, ['g'])).toBeNull();
    expect(a.calls.filter((c) => c === 'get')).toHaveLength(2);
    expect(stats).toMatchObject({ writes: 1, writeFailures: 1 });
  });
});
