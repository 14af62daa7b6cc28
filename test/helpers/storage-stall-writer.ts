/**
 * Child process for the late-write test: owns the crash test's log at epoch 1, appends batches
 * crashBatch(0..acks-1) (printing `ack <n> <baseOffset> <logEndOffset>` for each), then makes
 * its next append's write wait in libuv's thread pool after the fence check let it through:
 * with UV_THREADPOOL_SIZE=1 (the parent sets it), the pool's only thread is first kept busy
 * opening `fifo` for reading, which blocks until the parent opens it for writing. It prints
 * `submitted <n>` once that write is queued behind it, then, when the write completes,
 * `ack <n> ...` if the append was acknowledged or `fenced <n> <claimedEpoch>` if it was
 * refused, and `done`, and exits 0. Any other failure exits 1.
 *
 *   UV_THREADPOOL_SIZE=1 node --import tsx storage-stall-writer.ts <dataDir> <fifo> <acks>
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileMessageStore } from '../../src/storage/file-store.js';
import { LogSegment } from '../../src/storage/segment.js';
import { FencedError } from '../../src/storage/types.js';
import { CRASH_LOG_CONFIG, CRASH_TP, crashBatch } from './storage-crash-writer.js';

const print = (line: string): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const [dataDir, fifo, acksArg] = process.argv.slice(2);
  const acks = Number(acksArg);
  const store = new FileMessageStore({ dataDir });
  const log = await store.openLog(CRASH_TP, CRASH_LOG_CONFIG, { epoch: 1 });
  for (let n = 0; n < acks; n++) {
    const r = await log.append(crashBatch(n));
    print(`ack ${n} ${r.baseOffset} ${r.logEndOffset}`);
  }

  // The pool's one thread blocks in open() until the parent opens the FIFO for writing.
  const blocker = open(fifo, 'r');
  // The store calls LogSegment.append right after its fence check, with no await in between;
  // append submits its write (a writev at an explicit position) before it first awaits.
  const original = LogSegment.prototype.append;
  LogSegment.prototype.append = function (this: LogSegment, ...args) {
    const writing = original.apply(this, args);
    print(`submitted ${acks}`);
    return writing;
  };
  const outcome = log.append(crashBatch(acks)).then(
    (r) => print(`ack ${acks} ${r.baseOffset} ${r.logEndOffset}`),
    (err: unknown) => {
      if (!(err instanceof FencedError)) throw err;
      print(`fenced ${acks} ${err.claimedEpoch}`);
    },
  );
  await (await blocker).close();
  await outcome;
  await store.close();
  process.stdout.write('done\n', () => process.exit(0));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
