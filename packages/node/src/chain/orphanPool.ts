import { type Block, headerHash, SIGNED_HEADER_BYTES, type TxKindName, toHex } from "@cardio/core";

/** Options of `OrphanPool`. */
export interface OrphanPoolOptions {
  /** Most blocks held (default 512); the oldest is dropped first, so a peer cannot grow it without limit. */
  maxSize?: number;
  /**
   * Most encoded bytes held, all orphans together (default 16 MiB); the oldest are dropped first. A
   * count alone does not bound memory: orphans are held before any validation (their parent is
   * unknown), so a peer can send 512 orphans of the block size limit, and a decoded 1 MiB block of
   * small transactions takes about 7.5 MiB of heap: 512 of them would exhaust it.
   */
  maxBytes?: number;
}

/** Bytes of a transaction's encoding besides its kind-specific fields: kind, from, nonce, fee, signature. */
const TX_COMMON_BYTES = 1 + 32 + 8 + 8 + 64;
const TX_FIELD_BYTES: Record<TxKindName, number> = {
  transfer: 32 + 8,
  stake: 8,
  unstake: 8,
  bpm: 2,
  evidence: 2 * SIGNED_HEADER_BYTES,
};

/** Size of `encodeBlock(block)`, computed from the decoded block without encoding it again. */
export function encodedBlockSize(block: Block): number {
  let size = SIGNED_HEADER_BYTES + 4;
  for (const tx of block.txs) size += 4 + TX_COMMON_BYTES + TX_FIELD_BYTES[tx.kind];
  return size;
}

/** Blocks whose parent is not known yet, keyed by the missing parent, until it arrives. */
export class OrphanPool {
  private readonly maxSize: number;
  private readonly maxBytes: number;
  /** Insertion-ordered: the first entry is the oldest. */
  private readonly byHash = new Map<string, { block: Block; parentHex: string; bytes: number }>();
  private readonly byParent = new Map<string, Set<string>>();
  private totalBytes = 0;

  constructor(opts: OrphanPoolOptions = {}) {
    this.maxSize = opts.maxSize ?? 512;
    this.maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
  }

  get size(): number {
    return this.byHash.size;
  }

  /** Encoded bytes of the orphans held. */
  get bytes(): number {
    return this.totalBytes;
  }

  has(hashHex: string): boolean {
    return this.byHash.has(hashHex);
  }

  /** Holds `block`; returns false if it was already held or is larger than the whole pool may be. */
  add(block: Block, hashHex = toHex(headerHash(block.header))): boolean {
    if (this.byHash.has(hashHex)) return false;
    const bytes = encodedBlockSize(block);
    if (bytes > this.maxBytes) return false;
    while (this.byHash.size >= this.maxSize || this.totalBytes + bytes > this.maxBytes) {
      const oldest = this.byHash.keys().next().value;
      if (oldest === undefined) break;
      this.remove(oldest);
    }
    const parentHex = toHex(block.header.parentHash);
    this.byHash.set(hashHex, { block, parentHex, bytes });
    this.totalBytes += bytes;
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
    this.totalBytes -= entry.bytes;
    const siblings = this.byParent.get(entry.parentHex);
    siblings?.delete(hashHex);
    if (siblings !== undefined && siblings.size === 0) this.byParent.delete(entry.parentHex);
  }
}
