/**
 * A byte budget shared by many holders of evictable memory (tail caches, loaded indexes of
 * closed segments). Least recently charged or touched goes first, so a store's memory stays
 * bounded however many logs it holds.
 */
export interface Evictable {
  /** Called once the budget has dropped the item; it must let go of the memory. */
  evict(): void;
}

export class MemoryBudget {
  // Map iteration follows insertion order: the first entry is the least recently used.
  private readonly resident = new Map<Evictable, number>();
  private used = 0;

  constructor(readonly limitBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  /** Records `item` as holding `bytes`, most recently used, then evicts down to the limit. */
  charge(item: Evictable, bytes: number): void {
    this.release(item);
    this.resident.set(item, bytes);
    this.used += bytes;
    for (const [victim, victimBytes] of this.resident) {
      if (this.used <= this.limitBytes) break;
      this.resident.delete(victim);
      this.used -= victimBytes;
      victim.evict();
    }
  }

  touch(item: Evictable): void {
    const bytes = this.resident.get(item);
    if (bytes === undefined) return;
    this.resident.delete(item);
    this.resident.set(item, bytes);
  }

  /** Forgets `item` without calling evict (its holder dropped it itself). */
  release(item: Evictable): void {
    const bytes = this.resident.get(item);
    if (bytes === undefined) return;
    this.resident.delete(item);
    this.used -= bytes;
  }
}
