/**
 * Group commit for fsync: callers that ask while no fsync runs share the next one; callers that
 * ask while one runs share the one after it (the running one may have started before their
 * write). N concurrent durable appends cost about two fsyncs, not N.
 */
export class GroupSync {
  private running: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(private readonly syncNow: () => Promise<void>) {}

  sync(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    this.queued = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        return this.start();
      });
    return this.queued;
  }

  private start(): Promise<void> {
    const running: Promise<void> = this.syncNow().finally(() => {
      if (this.running === running) this.running = null;
    });
    this.running = running;
    return running;
  }
}
