/**
 * Keyed work with bounded concurrency: at most `limit` tasks run at once, tasks of one key never
 * overlap, and scheduling a key that is already waiting coalesces into the waiting task. A task
 * that fails is retried after `retryDelayMs` (one timer for all of them), so a metadata store
 * outage turns into a slow, bounded retry loop rather than a storm.
 */
export interface WorkQueueOptions {
  limit: number;
  retryDelayMs: number;
  onError: (key: string, err: unknown) => void;
}

export class WorkQueue {
  private readonly waiting = new Map<string, () => Promise<void>>();
  private readonly running = new Set<string>();
  private readonly retries = new Map<string, () => Promise<void>>();
  private retryTimer?: NodeJS.Timeout;
  private paused = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: WorkQueueOptions) {}

  /** Runs `task` for `key` once a slot is free (replacing a task of that key not yet started). */
  schedule(key: string, task: () => Promise<void>): void {
    if (this.stopped) return;
    this.retries.delete(key);
    this.waiting.set(key, task);
    this.pump();
  }

  /** Holds tasks not yet started (those running finish). */
  pause(): void {
    this.paused = true;
    this.checkIdle();
  }

  resume(): void {
    this.paused = false;
    this.pump();
  }

  /** Drops everything not yet started, for good. */
  stop(): void {
    this.stopped = true;
    this.waiting.clear();
    this.retries.clear();
    clearTimeout(this.retryTimer);
    this.checkIdle();
  }

  /** Drops tasks waiting to start or to be retried (for example after session expiry). */
  clear(): void {
    this.waiting.clear();
    this.retries.clear();
    this.checkIdle();
  }

  /** Something runs, or (unless paused or stopped) waits to run; retries due later do not count. */
  get busy(): boolean {
    return this.running.size > 0 || (!this.paused && !this.stopped && this.waiting.size > 0);
  }

  /** Resolves once the queue is not `busy`. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    if (this.paused || this.stopped) return;
    for (const [key, task] of this.waiting) {
      if (this.running.size >= this.options.limit) break;
      if (this.running.has(key)) continue;
      this.waiting.delete(key);
      this.run(key, task);
    }
  }

  private run(key: string, task: () => Promise<void>): void {
    this.running.add(key);
    task()
      .catch((err: unknown) => {
        this.options.onError(key, err);
        if (!this.stopped && !this.waiting.has(key)) this.retryLater(key, task);
      })
      .finally(() => {
        this.running.delete(key);
        this.pump();
        this.checkIdle();
      });
  }

  private retryLater(key: string, task: () => Promise<void>): void {
    this.retries.set(key, task);
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const due = [...this.retries];
      this.retries.clear();
      for (const [k, t] of due) if (!this.waiting.has(k)) this.waiting.set(k, t);
      this.pump();
    }, this.options.retryDelayMs);
    this.retryTimer.unref();
  }

  private checkIdle(): void {
    if (this.busy) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
