/** The slice of pino's Logger the store uses, so that callers can pass pino or anything alike. */
export interface StorageLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const ignore = (): void => {};

export const silentLogger: StorageLogger = {
  info: ignore,
  warn: ignore,
  error: ignore,
  debug: ignore,
};
