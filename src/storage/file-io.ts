/** File primitives the store needs beyond node:fs/promises: full reads and writes, durable renames. */
import { constants } from 'node:fs';
import { link, open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

/** Reads up to `length` bytes at `position`, retrying short reads; returns the bytes read. */
export async function readFully(
  fh: FileHandle,
  buffer: Buffer,
  length: number,
  position: number,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * Writes `buffers` back to back from `position`: one write call (vectored for several buffers)
 * unless the kernel takes less than everything.
 */
export async function writeFully(
  fh: FileHandle,
  buffers: Buffer | readonly Buffer[],
  position: number,
): Promise<void> {
  let pending = Buffer.isBuffer(buffers) ? [buffers] : [...buffers];
  while (pending.length > 0) {
    const { bytesWritten } =
      pending.length === 1
        ? await fh.write(pending[0], 0, pending[0].length, position)
        : await fh.writev(pending, position);
    position += bytesWritten;
    pending = skipBytes(pending, bytesWritten);
  }
}

/** What is left of `buffers` after their first `bytes` bytes. */
function skipBytes(buffers: Buffer[], bytes: number): Buffer[] {
  let i = 0;
  while (i < buffers.length && bytes >= buffers[i].length) bytes -= buffers[i++].length;
  const rest = buffers.slice(i);
  if (rest.length > 0 && bytes > 0) rest[0] = rest[0].subarray(bytes);
  return rest;
}

/** Makes creations, renames and deletions in `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `file` (opened with `flags`) and fsyncs it. */
async function writeDurably(file: string, data: string | Buffer, flags: 'w' | 'wx'): Promise<void> {
  const fh = await open(file, flags);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Replaces `file` atomically: a crash leaves either the old or the new contents. Writers in other
 * processes need a `tmp` name of their own.
 */
export async function writeFileAtomically(
  file: string,
  data: string | Buffer,
  tmp = `${file}.tmp`,
): Promise<void> {
  await writeDurably(tmp, data, 'w');
  await rename(tmp, file);
  await fsyncDir(path.dirname(file));
}

/**
 * Creates `file` with `data`, atomically (a crash leaves no file or the whole of it) and only if
 * it does not exist: EEXIST otherwise, whoever made it and whenever. `tmp` must be unique.
 */
export async function createFileAtomically(
  file: string,
  data: string | Buffer,
  tmp: string,
): Promise<void> {
  await writeDurably(tmp, data, 'wx');
  try {
    await link(tmp, file); // unlike rename, never replaces
  } finally {
    await unlink(tmp);
  }
  await fsyncDir(path.dirname(file));
}

/** Writes `data` at `position` of `file` (created if missing) and cuts the file there. */
export async function writeTail(
  file: string,
  data: Buffer,
  position: number,
  sync: boolean,
): Promise<void> {
  const fh = await open(file, constants.O_WRONLY | constants.O_CREAT);
  try {
    await writeFully(fh, data, position);
    await fh.truncate(position + data.length);
    if (sync) await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function readFileIfExists(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}
