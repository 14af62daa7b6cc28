/** Command-line flags: `--key value` or `--key=value`, kebab-case or camelCase keys. */
import { kebabToCamel, type RawConfig } from '../config/sources.js';

/** Short flag names for the settings people pass most. */
const ALIASES: Record<string, string> = {
  httpPort: 'webServicePort',
};

export interface ParsedArgs {
  command: string;
  configFile?: string;
  flags: RawConfig;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const [command = 'standalone', ...rest] = argv;
  const flags: RawConfig = {};
  let configFile: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    let key = arg.slice(2);
    let value: string;
    const eq = key.indexOf('=');
    if (eq >= 0) {
      value = key.slice(eq + 1);
      key = key.slice(0, eq);
    } else {
      const next = rest[i + 1];
      if (next === undefined || next.startsWith('--')) value = 'true';
      else value = rest[++i];
    }
    const name = kebabToCamel(key);
    if (name === 'config') configFile = value;
    else flags[ALIASES[name] ?? name] = value;
  }
  return { command, configFile, flags };
}
