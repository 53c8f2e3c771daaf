import { type ChainState, decodeTx, encodeTx, fromHex } from "@cardio/core";
import { errorFields, type Logger, silentLogger } from "../logger.js";
import type { ChainStore } from "../storage/index.js";
import type { Mempool } from "./mempool.js";

/** Options of `createMempoolJournal`. */
export interface MempoolJournalOptions {
  mempool: Mempool;
  store: ChainStore;
  logger?: Logger;
}

/**
 * Mirrors the mempool into the store: every accepted transaction is written before the node
 * acknowledges it, and restored at start, so a crash never loses a transaction the node accepted.
 */
export class MempoolJournal {
  private readonly writes = new Map<string, Promise<void>>();
  private detach: Array<() => void> = [];
  private readonly log: Logger;

  constructor(private readonly opts: MempoolJournalOptions) {
    this.log = opts.logger ?? silentLogger;
  }

  /** Re-validates and re-adds the kept transactions against `head`; drops those no longer valid. */
  async restore(head: ChainState, slot: number): Promise<number> {
    const stale: Uint8Array[] = [];
    let restored = 0;
    for await (const [id, bytes] of this.opts.store.iteratePendingTxs()) {
      try {
        this.opts.mempool.add(decodeTx(bytes), head, slot);
        restored++;
      } catch {
        stale.push(id);
      }
    }
    await this.opts.store.deletePendingTxs(stale);
    if (restored > 0 || stale.length > 0)
      this.log.info({ restored, dropped: stale.length }, "mempool restored");
    return restored;
  }

  /** Starts mirroring mempool changes into the store. */
  start(): void {
    const { mempool, store } = this.opts;
    this.detach.push(
      mempool.on("added", ({ id, tx }) => {
        const write = store.putPendingTx(fromHex(id), encodeTx(tx)).catch((err: unknown) => {
          this.log.error({ id, ...errorFields(err) }, "could not persist pending tx");
          throw err;
        });
        this.writes.set(id, write);
        void write.finally(() => this.writes.delete(id)).catch(() => undefined);
      }),
      mempool.on("removed", ({ id }) => {
        void store.deletePendingTxs([fromHex(id)]).catch((err: unknown) => {
          this.log.warn({ id, ...errorFields(err) }, "could not forget pending tx");
        });
      }),
    );
  }

  /** Resolves once transaction `id` is durably kept (immediately if it was already). */
  async persisted(id: string): Promise<void> {
    await this.writes.get(id);
  }

  stop(): void {
    for (const d of this.detach.splice(0)) d();
  }
}

export function createMempoolJournal(opts: MempoolJournalOptions): MempoolJournal {
  return new MempoolJournal(opts);
}
