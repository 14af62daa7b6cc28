/** Long-poll support: fetches parked until the log end offset moves past the offset they want. */
interface Waiter {
  offset: number;
  wake(): void;
}

export class AppendWaiters {
  private waiters = new Set<Waiter>();

  /** Resolves once `notify` reports an end offset above `offset`, the signal aborts, or `wakeAll`. */
  wait(offset: number, logEndOffset: number, signal: AbortSignal): Promise<void> {
    if (logEndOffset > offset || signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter: Waiter = {
        offset,
        wake: () => {
          this.waiters.delete(waiter);
          signal.removeEventListener('abort', waiter.wake);
          resolve();
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
}
