/**
 * At most `limit` tasks at once, the others waiting in call order. A task may give its slot up
 * while it only waits (a timer, say) and take one again after, so that many tasks can wait at
 * once while the work that does I/O stays bounded.
 */
export interface LimiterSlot {
  /** Runs `wait` without holding the slot; resolves once `wait` has and a slot is held again. */
  outside<T>(wait: () => Promise<T>): Promise<T>;
}

export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`a limit must be a positive integer, got ${limit}`);
    }
  }

  /** Runs `work` once a slot is free. */
  async run<T>(work: (slot: LimiterSlot) => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work({
        outside: async (wait) => {
          this.release();
          try {
            return await wait();
          } finally {
            await this.acquire();
          }
        },
      });
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Hands the slot to the next waiter, if any, else frees it. */
  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
