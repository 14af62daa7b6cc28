/** The wall clock, with Node timers that do not keep the process alive. */
import type { Clock, TimerHandle } from './types.js';

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timeout = setTimeout(callback, delayMs);
    timeout.unref();
    return { id: timeout };
  },
  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle.id as NodeJS.Timeout);
  },
};
