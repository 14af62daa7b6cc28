/**
 * The wall clock, with Node timers that do not keep the process alive. A callback that throws is
 * reported to `onError` and goes no further: thrown from a timer, it would end the process.
 */
import type { Clock, TimerHandle } from './types.js';

export function createSystemClock(onError: (err: unknown) => void): Clock {
  return {
    now: () => Date.now(),
    setTimeout(callback: () => void, delayMs: number): TimerHandle {
      const timeout = setTimeout(() => {
        try {
          callback();
        } catch (err) {
          reportSafely(onError, err);
        }
      }, delayMs);
      timeout.unref();
      return { id: timeout };
    },
    clearTimeout(handle: TimerHandle): void {
      clearTimeout(handle.id as NodeJS.Timeout);
    },
  };
}

/** Even a failing error handler must not throw out of a timer. */
function reportSafely(onError: (err: unknown) => void, err: unknown): void {
  try {
    onError(err);
  } catch {
    // Nowhere left to report to.
  }
}

/**
 * A system clock that reports failed timer callbacks as process warnings. Prefer
 * createSystemClock with the coordinator's logger.
 */
export const systemClock: Clock = createSystemClock((err) =>
  process.emitWarning(err instanceof Error ? err : String(err), {
    code: 'KOPPA_TIMER_CALLBACK_FAILED',
  }),
);
