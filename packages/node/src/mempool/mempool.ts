import {
  applyTx,
  assertValidTx,
  type ChainConfig,
  type ChainState,
  getAccount,
  type SignedTx,
  StateDraft,
  TxError,
  TxErrorCode,
  toHex,
  txId,
} from "@cardio/core";
import { TypedEmitter } from "../util/typedEmitter.js";

/** Why the mempool refused a transaction (besides the chain's own `TxError`s). */
export const MempoolErrorCode = {
  DUPLICATE: "MEMPOOL_DUPLICATE",
  FULL: "MEMPOOL_FULL",
  NONCE_GAP: "MEMPOOL_NONCE_GAP",
  REPLACEMENT_UNDERPRICED: "MEMPOOL_REPLACEMENT_UNDERPRICED",
} as const;
export type MempoolErrorCode = (typeof MempoolErrorCode)[keyof typeof MempoolErrorCode];

/** A transaction the mempool will not hold. Never the sender's fault on the network: IGNORE. */
export class MempoolError extends Error {
  override readonly name = "MempoolError";
  readonly verdict = "ignore" as const;
  constructor(
    readonly code: MempoolErrorCode,
    message: string,
    readonly meta: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface Entry {
  readonly tx: SignedTx;
  readonly id: string;
  readonly seq: number;
}

/** Events of a mempool. */
export interface MempoolEvents extends Record<string, unknown> {
  added: { id: string; tx: SignedTx };
  /** Dropped: `evicted` to make room, `invalid` after a head change, `included` in a block. */
  removed: { id: string; reason: "evicted" | "invalid" | "included" | "replaced" };
}

/** Options of `createMempool`. */
export interface MempoolOptions {
  config: ChainConfig;
  /** Most transactions held (default 10,000); when full the cheapest is evicted. */
  maxSize?: number;
  /** How far ahead of the sender's nonce a transaction may be held (default 64). */
  maxNonceGap?: number;
}

/**
 * Pending transactions: validated against the head state, deduplicated by id, at most one per
 * (sender, nonce), bounded in size, re-validated on every new head.
 */
export class Mempool extends TypedEmitter<MempoolEvents> {
  private readonly config: ChainConfig;
  private readonly maxSize: number;
  private readonly maxNonceGap: number;
  private readonly byId = new Map<string, Entry>();
  /** sender hex → nonce → entry. */
  private readonly bySender = new Map<string, Map<number, Entry>>();
  private seq = 0;
  /** Counts of dropped transactions by reason, for metrics. */
  readonly dropped = { evicted: 0, invalid: 0, replaced: 0 };

  constructor(opts: MempoolOptions) {
    super();
    this.config = opts.config;
    this.maxSize = opts.maxSize ?? 10_000;
    this.maxNonceGap = opts.maxNonceGap ?? 64;
  }

  get size(): number {
    return this.byId.size;
  }

  has(idHex: string): boolean {
    return this.byId.has(idHex);
  }

  get(idHex: string): SignedTx | undefined {
    return this.byId.get(idHex)?.tx;
  }

  /** Ids (hex) of the pending transactions, oldest first. */
  ids(): IterableIterator<string> {
    return this.byId.keys();
  }

  /** The pending transactions with their ids (hex), oldest first. */
  *entries(): IterableIterator<{ id: string; tx: SignedTx }> {
    for (const e of this.byId.values()) yield { id: e.id, tx: e.tx };
  }

  /**
   * Validates `tx` against `head` (signature unless `verified`, nonce, balance given the sender's
   * earlier pending transactions) and holds it. Throws `TxError` or `MempoolError`; returns the id.
   */
  add(tx: SignedTx, head: ChainState, slot: number, opts: { verified?: boolean } = {}): string {
    const id = toHex(txId(tx));
    if (this.byId.has(id))
      throw new MempoolError(MempoolErrorCode.DUPLICATE, "transaction already pending", { id });
    if (opts.verified !== true) assertValidTx(tx, this.config.chainId);
    const sender = toHex(tx.from);
    const account = getAccount(head, tx.from);
    if (tx.nonce < account.nonce) {
      throw new TxError(
        TxErrorCode.NONCE_TOO_LOW,
        `nonce ${tx.nonce} was already used (next is ${account.nonce})`,
        {
          nonce: tx.nonce,
          expected: account.nonce,
        },
      );
    }
    if (tx.nonce > account.nonce + this.maxNonceGap) {
      throw new MempoolError(
        MempoolErrorCode.NONCE_GAP,
        `nonce ${tx.nonce} is too far ahead of the next nonce ${account.nonce}`,
        { nonce: tx.nonce, expected: account.nonce },
      );
    }
    const pending = this.bySender.get(sender);
    const existing = pending?.get(tx.nonce);
    if (existing !== undefined && existing.tx.fee >= tx.fee) {
      throw new MempoolError(
        MempoolErrorCode.REPLACEMENT_UNDERPRICED,
        `a transaction with nonce ${tx.nonce} is already pending with fee ${existing.tx.fee}`,
      );
    }
    // Dry run: the sender's earlier pending transactions, then this one, on a draft of the head.
    const draft = new StateDraft(head);
    const ctx = { config: this.config, slot };
    for (let n = account.nonce; n < tx.nonce; n++) {
      const prior = pending?.get(n);
      if (prior === undefined) break;
      try {
        applyTx(draft, prior.tx, ctx);
      } catch {
        break;
      }
    }
    if (draft.get(tx.from).nonce === tx.nonce) applyTx(draft, tx, ctx);
    if (this.byId.size >= this.maxSize && existing === undefined) this.evictFor(tx);
    if (existing !== undefined) this.remove(existing, "replaced");
    const entry: Entry = { tx, id, seq: this.seq++ };
    this.byId.set(id, entry);
    let map = this.bySender.get(sender);
    if (map === undefined) {
      map = new Map();
      this.bySender.set(sender, map);
    }
    map.set(tx.nonce, entry);
    this.emit("added", { id, tx });
    return id;
  }

  /** Makes room for `incoming` by evicting the cheapest sender-last transaction, or refuses it. */
  private evictFor(incoming: SignedTx): void {
    let victim: Entry | undefined;
    for (const map of this.bySender.values()) {
      // Only a sender's highest nonce can go without stranding its later transactions.
      let last: Entry | undefined;
      for (const e of map.values()) if (last === undefined || e.tx.nonce > last.tx.nonce) last = e;
      if (last === undefined) continue;
      if (
        victim === undefined ||
        last.tx.fee < victim.tx.fee ||
        (last.tx.fee === victim.tx.fee && last.seq < victim.seq)
      ) {
        victim = last;
      }
    }
    if (victim === undefined || victim.tx.fee > incoming.fee) {
      throw new MempoolError(
        MempoolErrorCode.FULL,
        `mempool is full (${this.maxSize}) and the fee is too low`,
      );
    }
    this.remove(victim, "evicted");
  }

  private remove(entry: Entry, reason: MempoolEvents["removed"]["reason"]): void {
    if (!this.byId.delete(entry.id)) return;
    const sender = toHex(entry.tx.from);
    const map = this.bySender.get(sender);
    map?.delete(entry.tx.nonce);
    if (map !== undefined && map.size === 0) this.bySender.delete(sender);
    if (reason !== "included") this.dropped[reason]++;
    this.emit("removed", { id: entry.id, reason });
  }

  /** The nonce a new transaction from `sender` should carry, counting its pending ones after `head`. */
  nextNonce(sender: Uint8Array, head: ChainState): number {
    let nonce = getAccount(head, sender).nonce;
    const pending = this.bySender.get(toHex(sender));
    while (pending?.has(nonce) === true) nonce++;
    return nonce;
  }

  /**
   * Candidates for the next block: each sender's transactions in nonce order, senders interleaved by
   * the fee of their next transaction (highest first, then oldest).
   */
  candidates(limit = Number.POSITIVE_INFINITY): SignedTx[] {
    const queues = [...this.bySender.values()].map((m) =>
      [...m.values()].sort((a, b) => a.tx.nonce - b.tx.nonce),
    );
    const out: SignedTx[] = [];
    const better = (a: Entry, b: Entry) => (a.tx.fee !== b.tx.fee ? a.tx.fee > b.tx.fee : a.seq < b.seq);
    const idx = queues.map(() => 0);
    while (out.length < limit) {
      let best = -1;
      for (let q = 0; q < queues.length; q++) {
        const e = queues[q]![idx[q]!];
        if (e !== undefined && (best < 0 || better(e, queues[best]![idx[best]!]!))) best = q;
      }
      if (best < 0) break;
      out.push(queues[best]![idx[best]!]!.tx);
      idx[best]!++;
    }
    return out;
  }

  /**
   * Re-validates every pending transaction against a new head: drops those now included or stale,
   * and those that no longer apply. `slot` is the next slot to be forged.
   */
  revalidate(head: ChainState, slot: number, includedIds: ReadonlySet<string> = new Set()): void {
    if (this.bySender.size === 0) return;
    const ctx = { config: this.config, slot };
    const draft = new StateDraft(head);
    for (const [sender, map] of [...this.bySender]) {
      const entries = [...map.values()].sort((a, b) => a.tx.nonce - b.tx.nonce);
      const nonce = draft.getHex(sender).nonce;
      for (const e of entries) {
        if (includedIds.has(e.id)) {
          this.remove(e, "included");
          continue;
        }
        if (e.tx.nonce < nonce) {
          this.remove(e, "included");
          continue;
        }
        if (e.tx.nonce !== draft.getHex(sender).nonce) continue; // waits for a gap to fill
        try {
          applyTx(draft, e.tx, ctx);
        } catch {
          this.remove(e, "invalid");
        }
      }
    }
  }
}

/** Creates an empty mempool. */
export function createMempool(opts: MempoolOptions): Mempool {
  return new Mempool(opts);
}
