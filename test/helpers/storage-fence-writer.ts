/**
 * Child process for the storage fencing test: claims the crash test's log for an epoch and
 * appends batches crashBatch(0), crashBatch(1), ... (a few in flight) until another process
 * claims the log. Prints, in order, `ack <n> <baseOffset> <logEndOffset>` for each acknowledged
 * append and `fenced <n> <claimedEpoch>` for each append refused with FencedError; once it has
 * seen `<fencedAppends>` refusals it prints `done` and exits 0. Any other failure exits 1.
 *
 *   node --import tsx storage-fence-writer.ts <dataDir> <epoch> <fencedAppends>
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileMessageStore } from '../../src/storage/file-store.js';
import { FencedError } from '../../src/storage/types.js';
import { CRASH_LOG_CONFIG, CRASH_TP, crashBatch } from './storage-crash-writer.js';

/** The most appends the writer has in flight at once. */
export const IN_FLIGHT = 4;
const MAX_BATCHES = 200_000;

async function main(): Promise<void> {
  const [dataDir, epochArg, fencedArg] = process.argv.slice(2);
  const wanted = Number(fencedArg);
  const store = new FileMessageStore({ dataDir });
  const log = await store.openLog(CRASH_TP, CRASH_LOG_CONFIG, { epoch: Number(epochArg) });
  process.stdout.write(`claimed ${log.epoch} ${log.logEndOffset()}\n`);
  let fenced = 0;
  const inFlight = new Set<Promise<void>>();
  for (let n = 0; fenced < wanted && n < MAX_BATCHES; n++) {
    const append = log.append(crashBatch(n)).then(
      (r) => void process.stdout.write(`ack ${n} ${r.baseOffset} ${r.logEndOffset}\n`),
      (err: unknown) => {
        if (!(err instanceof FencedError)) throw err;
        fenced += 1;
        process.stdout.write(`fenced ${n} ${err.claimedEpoch}\n`);
      },
    );
    const tracked = append.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await store.close();
  process.stdout.write('done\n', () => process.exit(0));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
