/**
 * A byte budget shared by many holders of evictable memory (tail caches, loaded indexes of
 * closed segments). Least recently charged or touched goes first, so a store's memory stays
 * bounded however many logs it holds. Every operation is O(1): a linked list in use order plus a
 * map to find an item's node (iterating a Map from its head would skip the holes that eviction
 * churn leaves, and slow down with the number of entries).
 */
export interface Evictable {
  /** Called once the budget has dropped the item; it must let go of the memory. */
  evict(): void;
}

interface Node {
  item: Evictable;
  bytes: number;
  prev: Node | null;
  next: Node | null;
}

export class MemoryBudget {
  private readonly nodes = new Map<Evictable, Node>();
  /** Least recently used. */
  private head: Node | null = null;
  /** Most recently used. */
  private tail: Node | null = null;
  private used = 0;

  constructor(readonly limitBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  /** Records `item` as holding `bytes`, most recently used, then evicts down to the limit. */
  charge(item: Evictable, bytes: number): void {
    this.release(item);
    const node: Node = { item, bytes, prev: null, next: null };
    this.nodes.set(item, node);
    this.append(node);
    this.used += bytes;
    while (this.used > this.limitBytes && this.head) {
      const victim = this.head;
      this.remove(victim);
      victim.item.evict();
    }
  }

  /** Marks `item` as just used. */
  touch(item: Evictable): void {
    const node = this.nodes.get(item);
    if (!node || node === this.tail) return;
    this.unlink(node);
    this.append(node);
  }

  /** Forgets `item` without calling evict (its holder dropped it itself). */
  release(item: Evictable): void {
    const node = this.nodes.get(item);
    if (node) this.remove(node);
  }

  private remove(node: Node): void {
    this.unlink(node);
    this.nodes.delete(node.item);
    this.used -= node.bytes;
  }

  private append(node: Node): void {
    node.prev = this.tail;
    node.next = null;
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
  }

  private unlink(node: Node): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = null;
    node.next = null;
  }
}
