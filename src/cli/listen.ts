/** `--listen HOST:PORT`: where a broker's one Kafka listener binds and what it advertises. */
import { ConfigError } from '../config/fields.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(value: unknown): ListenAddress {
  const match = typeof value === 'string' ? /^(.+):(\d{1,5})$/.exec(value) : null;
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535)
    throw new ConfigError(`--listen must be HOST:PORT, not ${String(value)}`);
  return { host: match[1], port };
}

/** The listener setting `--listen HOST:PORT` stands for. */
export function listenerOf({ host, port }: ListenAddress): string {
  return `PLAINTEXT://${host}:${port}`;
}
