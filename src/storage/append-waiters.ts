/** Long-poll support: fetches parked until the log end offset moves past the offset they want. */
interface Waiter {
  offset: number;
  wake(): void;
  fail(err: unknown): void;
}

export class AppendWaiters {
  private waiters = new Set<Waiter>();

  /**
   * Resolves once `notify` reports an end offset above `offset`, the signal aborts, or `wakeAll`;
   * rejects on `failAll`.
   */
  wait(offset: number, logEndOffset: number, signal: AbortSignal): Promise<void> {
    if (logEndOffset > offset || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const settle = (): void => {
        this.waiters.delete(waiter);
        signal.removeEventListener('abort', waiter.wake);
      };
      const waiter: Waiter = {
        offset,
        wake: () => {
          settle();
          resolve();
        },
        fail: (err) => {
          settle();
          reject(err);
        },
      };
      this.waiters.add(waiter);
      signal.addEventListener('abort', waiter.wake, { once: true });
    });
  }

  notify(logEndOffset: number): void {
    for (const waiter of this.waiters) {
      if (logEndOffset > waiter.offset) waiter.wake();
    }
  }

  wakeAll(): void {
    for (const waiter of this.waiters) waiter.wake();
  }

  /** Rejects every parked wait with `err` (the log will get no new data). */
  failAll(err: unknown): void {
    for (const waiter of this.waiters) waiter.fail(err);
  }
}
