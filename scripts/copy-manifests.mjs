// The build compiles TypeScript only; protocol-handler manifests are copied next to the compiled entries.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

for (const name of readdirSync('plugins')) {
  const manifest = join('plugins', name, 'protocol-handler.json');
  if (!existsSync(manifest)) continue;
  mkdirSync(join('dist', 'plugins', name), { recursive: true });
  copyFileSync(manifest, join('dist', 'plugins', name, 'protocol-handler.json'));
}
