import { readdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type {
  ProtocolHandler,
  ProtocolHandlerFactory,
  ProtocolHandlerManifest,
} from './protocol-handler.js';

export const MANIFEST_FILE = 'protocol-handler.json';

/** The folder holding `src/` and `plugins/`: the repository root, or `dist/` once built. */
export const installRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface LoadedHandler {
  manifest: ProtocolHandlerManifest;
  directory: string;
  handler: ProtocolHandler;
}

/** Reads every manifest under `directory`, keyed by handler name. */
export async function discoverProtocolHandlers(
  directory: string,
): Promise<Map<string, { manifest: ProtocolHandlerManifest; directory: string }>> {
  const root = isAbsolute(directory) ? directory : resolve(installRoot, directory);
  const found = new Map<string, { manifest: ProtocolHandlerManifest; directory: string }>();
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (err) {
    throw new Error(`protocolHandlerDirectory ${root} cannot be read: ${(err as Error).message}`, {
      cause: err,
    });
  }
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const folder = join(root, entry.name);
    let text: string;
    try {
      text = await readFile(join(folder, MANIFEST_FILE), 'utf8');
    } catch {
      continue; // not a handler folder
    }
    const manifest = parseManifest(text, folder);
    if (found.has(manifest.name)) {
      throw new Error(
        `two protocol handlers are named ${manifest.name}: ${found.get(manifest.name)?.directory} and ${folder}`,
      );
    }
    found.set(manifest.name, { manifest, directory: folder });
  }
  return found;
}

/** Loads the handlers `names` asks for, in that order; an unknown name is an error. */
export async function loadProtocolHandlers(
  names: string[],
  directory: string,
): Promise<LoadedHandler[]> {
  const available = await discoverProtocolHandlers(directory);
  const loaded: LoadedHandler[] = [];
  for (const name of names) {
    const found = available.get(name);
    if (!found) {
      const known = [...available.keys()].join(', ') || 'none';
      throw new Error(`no protocol handler named ${name} in ${directory} (found: ${known})`);
    }
    const module = (await import(
      pathToFileURL(join(found.directory, found.manifest.entry)).href
    )) as {
      default?: ProtocolHandlerFactory;
    };
    if (typeof module.default !== 'function') {
      throw new Error(
        `protocol handler ${name}: ${found.manifest.entry} has no default export factory`,
      );
    }
    const handler = module.default();
    if (handler.protocolName !== name) {
      throw new Error(
        `protocol handler in ${found.directory} calls itself ${handler.protocolName}, manifest says ${name}`,
      );
    }
    loaded.push({ ...found, handler });
  }
  return loaded;
}

function parseManifest(text: string, folder: string): ProtocolHandlerManifest {
  let value: Partial<ProtocolHandlerManifest>;
  try {
    value = JSON.parse(text) as Partial<ProtocolHandlerManifest>;
  } catch (err) {
    throw new Error(`${join(folder, MANIFEST_FILE)} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (typeof value.name !== 'string' || typeof value.entry !== 'string') {
    throw new Error(`${join(folder, MANIFEST_FILE)} must name "name" and "entry"`);
  }
  return { name: value.name, entry: value.entry, description: value.description };
}
