/** Structured JSON logs (pino, as fastify uses), one logger per broker with child loggers per component. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level: string; brokerId?: number }): Logger {
  return pino({
    level: options.level,
    base: options.brokerId === undefined ? {} : { broker: options.brokerId },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
