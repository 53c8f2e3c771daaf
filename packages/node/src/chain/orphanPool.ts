import { type Block, headerHash, toHex } from "@cardio/core";

/** Options of `OrphanPool`. */
export interface OrphanPoolOptions {
  /** Most blocks held (default 512); the oldest is dropped first, so a peer cannot grow it without limit. */
  maxSize?: number;
}

/** Blocks whose parent is not known yet, keyed by the missing parent, until it arrives. */
export class OrphanPool {
  private readonly maxSize: number;
  /** Insertion-ordered: the first entry is the oldest. */
  private readonly byHash = new Map<string, { block: Block; parentHex: string }>();
  private readonly byParent = new Map<string, Set<string>>();

  constructor(opts: OrphanPoolOptions = {}) {
    this.maxSize = opts.maxSize ?? 512;
  }

  get size(): number {
    return this.byHash.size;
  }

  has(hashHex: string): boolean {
    return this.byHash.has(hashHex);
  }

  /** Holds `block`; returns false if it was already held. */
  add(block: Block, hashHex = toHex(headerHash(block.header))): boolean {
    if (this.byHash.has(hashHex)) return false;
    while (this.byHash.size >= this.maxSize) {
      const oldest = this.byHash.keys().next().value;
      if (oldest === undefined) break;
      this.remove(oldest);
    }
    const parentHex = toHex(block.header.parentHash);
    this.byHash.set(hashHex, { block, parentHex });
    let children = this.byParent.get(parentHex);
    if (children === undefined) {
      children = new Set();
      this.byParent.set(parentHex, children);
    }
    children.add(hashHex);
    return true;
  }

  /** Removes and returns the orphans waiting for `parentHex`. */
  takeChildren(parentHex: string): Block[] {
    const children = this.byParent.get(parentHex);
    if (children === undefined) return [];
    const out: Block[] = [];
    for (const h of [...children]) {
      const entry = this.byHash.get(h);
      if (entry !== undefined) out.push(entry.block);
      this.remove(h);
    }
    return out;
  }

  /** Hex hashes of parents that orphans wait for and that are not orphans themselves: what to fetch. */
  missingParents(): string[] {
    return [...this.byParent.keys()].filter((p) => !this.byHash.has(p));
  }

  /** The oldest ancestor held for the chain of orphans that ends at `hashHex`. */
  rootOf(hashHex: string): Block | undefined {
    let entry = this.byHash.get(hashHex);
    let last: Block | undefined;
    while (entry !== undefined) {
      last = entry.block;
      entry = this.byHash.get(entry.parentHex);
    }
    return last;
  }

  private remove(hashHex: string): void {
    const entry = this.byHash.get(hashHex);
    if (entry === undefined) return;
    this.byHash.delete(hashHex);
    const siblings = this.byParent.get(entry.parentHex);
    siblings?.delete(hashHex);
    if (siblings !== undefined && siblings.size === 0) this.byParent.delete(entry.parentHex);
  }
}
