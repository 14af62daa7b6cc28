// `npm run bench`: every benchmark in turn, each printing its own figures.
import { execFileSync } from 'node:child_process';

for (const script of [
  'bench/crc.ts',
  'bench/storage.ts',
  'bench/coordinator.ts',
  'bench/metrics.ts',
  'bench/scrape.ts',
  'bench/clients.ts',
]) {
  console.log(`\n== ${script} ==`);
  execFileSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit' });
}
