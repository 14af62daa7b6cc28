import { describe, expect, it } from 'vitest';
import { Limiter } from '../../../src/storage/limiter.js';

/** Lets promise continuations run. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('Limiter', () => {
  it('runs at most `limit` tasks at once, the others in call order', async () => {
    const limiter = new Limiter(2);
    const started: number[] = [];
    const finish: (() => void)[] = [];
    const tasks = [0, 1, 2, 3].map((i) =>
      limiter.run(async () => {
        started.push(i);
        await new Promise<void>((resolve) => (finish[i] = resolve));
        return i;
      }),
    );
    await flush();
    expect(started).toEqual([0, 1]);
    finish[1]();
    await flush();
    expect(started).toEqual([0, 1, 2]);
    finish[0]();
    finish[2]();
    await flush();
    finish[3]();
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3]);
  });

  it('frees the slot while a task waits outside it, and takes one again after', async () => {
    const limiter = new Limiter(1);
    const log: string[] = [];
    let wake!: () => void;
    const first = limiter.run(async (slot) => {
      log.push('first works');
      await slot.outside(() => new Promise<void>((resolve) => (wake = resolve)));
      log.push('first works again');
    });
    const second = limiter.run(async () => {
      log.push('second works');
      await flush();
      log.push('second done');
    });
    await flush();
    wake();
    await Promise.all([first, second]);
    expect(log).toEqual(['first works', 'second works', 'second done', 'first works again']);
  });

  it('frees the slot of a task that fails', async () => {
    const limiter = new Limiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    await expect(limiter.run(async () => 'next')).resolves.toBe('next');
  });
});
