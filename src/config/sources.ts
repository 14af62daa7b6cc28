/**
 * Where configuration comes from, later sources winning: a file (Pulsar-style `key=value`
 * properties, or JSON), environment variables `KOPPA_<KEY_IN_SNAKE_CASE>`, then flags.
 * The result is an untyped map; each component validates the keys it owns.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './fields.js';

export type RawConfig = Record<string, unknown>;

export function readConfigFile(path: string): RawConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (path.endsWith('.json')) {
    try {
      const value: unknown = JSON.parse(text);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new Error('top level must be an object');
      }
      return value as RawConfig;
    } catch (err) {
      throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
    }
  }
  return parseProperties(text);
}

export function parseProperties(text: string): RawConfig {
  const config: RawConfig = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    config[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return config;
}

const ENV_PREFIX = 'KOPPA_';

/** `KOPPA_KAFKA_LISTENERS` → `kafkaListeners`. */
export function readEnvironment(env: NodeJS.ProcessEnv): RawConfig {
  const config: RawConfig = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    config[snakeToCamel(name.slice(ENV_PREFIX.length))] = value;
  }
  return config;
}

export function snakeToCamel(name: string): string {
  return name.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

export function kebabToCamel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
