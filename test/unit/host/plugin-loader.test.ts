import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  discoverProtocolHandlers,
  installRoot,
  loadProtocolHandlers,
} from '../../../src/host/plugin-loader.js';

const fixtures = resolve(installRoot, 'test/fixtures/plugins');

describe('protocol handler loader', () => {
  it('finds handlers by their manifests', async () => {
    const found = await discoverProtocolHandlers(fixtures);
    expect([...found.keys()].sort()).toEqual(['echo', 'misnamed']);
    expect(found.get('echo')?.manifest.entry).toBe('index.js');
  });

  it('finds the kafka handler in the default directory', async () => {
    const found = await discoverProtocolHandlers('plugins');
    expect(found.get('kafka')?.manifest.entry).toBe('index.js');
  });

  it('loads the named handlers', async () => {
    const [loaded] = await loadProtocolHandlers(['echo'], fixtures);
    expect(loaded.handler.protocolName).toBe('echo');
  });

  it('refuses an unknown name, listing what exists', async () => {
    await expect(loadProtocolHandlers(['amqp'], fixtures)).rejects.toThrow(
      /no protocol handler named amqp.*echo/,
    );
  });

  it('refuses a handler whose name disagrees with its manifest', async () => {
    await expect(loadProtocolHandlers(['misnamed'], fixtures)).rejects.toThrow(
      /calls itself other/,
    );
  });
});

describe('layering', () => {
  it('nothing in src/ imports from plugins/', async () => {
    const offenders: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.name.endsWith('.ts')) {
          const text = await readFile(path, 'utf8');
          for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
            const target = resolve(dir, match[1]);
            if (
              match[1].startsWith('.') &&
              relative(resolve(installRoot, 'plugins'), target).split('/')[0] !== '..'
            ) {
              offenders.push(`${relative(installRoot, path)} imports ${match[1]}`);
            }
          }
        }
      }
    };
    await walk(resolve(installRoot, 'src'));
    expect(offenders).toEqual([]);
  });

  it('plugins reach the host only through src/api', async () => {
    const offenders: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.name.endsWith('.ts')) {
          const text = await readFile(path, 'utf8');
          for (const match of text.matchAll(/from\s*['"]([^'"]+)['"]/g)) {
            const target = relative(resolve(installRoot, 'src'), resolve(dir, match[1]));
            if (
              match[1].startsWith('.') &&
              !target.startsWith('..') &&
              !target.startsWith('api/')
            ) {
              offenders.push(`${relative(installRoot, path)} imports ${match[1]}`);
            }
          }
        }
      }
    };
    await walk(resolve(installRoot, 'plugins'));
    expect(offenders).toEqual([]);
  });
});
