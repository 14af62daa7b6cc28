/**
 * Runs async tasks one at a time in call order: appends, rolls and segment deletion of one log
 * go through it, so they never interleave. Reads do not; they work on snapshots.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** A failing task rejects its own promise only; the tasks after it still run. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves once every task queued so far has settled. */
  async drain(): Promise<void> {
    await this.tail;
  }
}
