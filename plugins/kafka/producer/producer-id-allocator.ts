/**
 * Producer ids for InitProducerId, unique across broker restarts and across the brokers that
 * share a metadata store. Like Kafka's ZooKeeper-era ProducerIdManager (/latest_producer_id_block,
 * blocks of 1000), a broker reserves a block by compare-and-set on one node and hands ids out of
 * it in memory. An id is never handed out twice: a broker that stops abandons the rest of its
 * block, which costs at most one block of ids per restart.
 */
import { BadVersionError, type MetadataStore } from '../../../src/api/index.js';

export const PRODUCER_ID_BLOCK_PATH = '/koppa/producer-ids/block';
/** Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE. */
export const DEFAULT_PRODUCER_ID_BLOCK_SIZE = 1000;

export interface ProducerIdAllocatorOptions {
  /** Node holding `{ "next": N }`, the first id no broker has reserved yet. */
  path?: string;
  blockSize?: number;
  /** Compare-and-set attempts per reservation before giving up (other brokers kept winning). */
  maxAttempts?: number;
}

export class ProducerIdAllocator {
  private readonly path: string;
  private readonly blockSize: number;
  private readonly maxAttempts: number;
  /** Ids [next, end) are reserved by this allocator and not yet handed out. */
  private next = 0;
  private end = 0;
  /** The reservation in flight; concurrent callers share it instead of reserving a block each. */
  private reserving: Promise<void> | undefined;

  constructor(
    private readonly store: MetadataStore,
    options: ProducerIdAllocatorOptions = {},
  ) {
    this.path = options.path ?? PRODUCER_ID_BLOCK_PATH;
    this.blockSize = options.blockSize ?? DEFAULT_PRODUCER_ID_BLOCK_SIZE;
    this.maxAttempts = options.maxAttempts ?? 20;
    if (!Number.isSafeInteger(this.blockSize) || this.blockSize <= 0) {
      throw new RangeError(
        `producer id block size must be a positive integer, got ${this.blockSize}`,
      );
    }
  }

  async nextProducerId(): Promise<number> {
    while (this.next >= this.end) {
      this.reserving ??= this.reserveBlock().finally(() => {
        this.reserving = undefined;
      });
      await this.reserving;
    }
    return this.next++;
  }

  private async reserveBlock(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.store.get(this.path);
      const start = current === null ? 0 : parseNext(this.path, current.value);
      const end = start + this.blockSize;
      if (!Number.isSafeInteger(end))
        throw new Error(`producer ids exhausted at ${this.path} (next ${start})`);
      try {
        await this.store.put(this.path, Buffer.from(JSON.stringify({ next: end })), {
          expectedVersion: current === null ? -1 : current.stat.version,
        });
        this.next = start;
        this.end = end;
        return;
      } catch (err) {
        // Another broker reserved a block between our read and write: read again.
        if (!(err instanceof BadVersionError) || attempt >= this.maxAttempts) throw err;
      }
    }
  }
}

function parseNext(path: string, value: Buffer): number {
  let next: unknown;
  try {
    next = (JSON.parse(value.toString('utf8')) as { next?: unknown }).next;
  } catch {
    next = undefined;
  }
  if (typeof next !== 'number' || !Number.isSafeInteger(next) || next < 0) {
    throw new Error(`malformed producer id block node ${path}: ${value.toString('utf8')}`);
  }
  return next;
}
