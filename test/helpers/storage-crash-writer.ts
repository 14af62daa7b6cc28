/**
 * Child process for the storage crash test: appends batches to a FileMessageStore and prints
 * `ack <n> <baseOffset> <logEndOffset>` for each acknowledged append, in order. Batch n's content
 * is a pure function of n (see crashBatch), so the parent can check what it reads back.
 *
 *   node --import tsx storage-crash-writer.ts <dataDir> <firstBatch> <batches> <none|close|exit>
 *
 * After the last batch, `none` waits to be killed; `close` closes the store cleanly and exits;
 * `exit` exits without closing (as a crash that loses no page cache would leave the files).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileMessageStore } from '../../src/storage/file-store.js';
import { makeBatch, patternBytes } from './record-batches.js';

export const CRASH_TP = { topic: 'persistent://public/default/crash', partition: 0 };
export const CRASH_LOG_CONFIG = { segmentBytes: 256 * 1024, indexIntervalBytes: 1024 };

/** Batch n: 1-4 records, sizes from a few bytes to ~40 KiB so that kills land mid-write. */
export function crashBatch(n: number): Buffer {
  const records = 1 + (n % 4);
  const valueBytes = n % 10 === 0 ? 40_000 : 20 + ((n * 7919) % 3000);
  return makeBatch({
    records: Array.from({ length: records }, (_, i) =>
      Buffer.concat([Buffer.from(`n${n}r${i}:`), patternBytes(n * 8 + i, valueBytes)]),
    ),
    baseTimestamp: 1_700_000_000_000 + n,
  });
}

async function main(): Promise<void> {
  const [dataDir, firstArg, countArg, exitMode] = process.argv.slice(2);
  const first = Number(firstArg);
  const end = first + Number(countArg);
  const store = new FileMessageStore({ dataDir });
  const log = await store.openLog(CRASH_TP, CRASH_LOG_CONFIG);
  const inFlight = new Set<Promise<void>>();
  for (let n = first; n < end; n++) {
    // A few appends in flight at once, as a broker serving several producers has.
    const append = log.append(crashBatch(n)).then((r) => {
      process.stdout.write(`ack ${n} ${r.baseOffset} ${r.logEndOffset}\n`);
    });
    const tracked = append.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (exitMode === 'close') await store.close();
  if (exitMode === 'none') {
    process.stdout.write('done\n');
    setInterval(() => {}, 1000); // wait for the kill
    return;
  }
  process.stdout.write('done\n', () => process.exit(0));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
