import { type ChainState, decodeTx, encodeTx, type SignedTx, TxError } from "@cardio/core";
import { errorFields, type Logger, silentLogger } from "../logger.js";
import type { Network } from "../network/index.js";
import { type Mempool, MempoolError } from "./mempool.js";
import {
  decodePendingTxsRequest,
  decodePendingTxsResponse,
  encodePendingTxsRequest,
  encodePendingTxsResponse,
  MAX_KNOWN_IDS,
  MAX_PENDING_TXS_PER_RESPONSE,
  SHORT_TX_ID_BYTES,
} from "./pendingTxsMessages.js";

/** Request/response protocol name: `/cardio/<chainId>/pending_txs/1`. */
export const PENDING_TXS_PROTOCOL = "pending_txs";

/** What became of each transaction pulled from a peer, as a metric label. */
export type PulledTxOutcome = "added" | "known" | "invalid";

/** Options of `createTxExchange`. */
export interface TxExchangeOptions {
  mempool: Mempool;
  network: Network;
  /** The head state and the next slot, against which pulled transactions are validated. */
  head: () => { state: ChainState; slot: number };
  logger?: Logger;
  /** Mean interval between pulls from one random peer, in ms (default 10 000; ±20 % jitter). */
  intervalMs?: number;
  /** Timeout of one pull, in ms (default 5 000). */
  requestTimeoutMs?: number;
  /** Largest response body, in bytes (default 512 KiB). */
  maxResponseBytes?: number;
  /** Called with the outcome of each pulled transaction (for metrics). */
  onPulled?: (outcome: PulledTxOutcome) => void;
}

/**
 * Anti-entropy for pending transactions. Gossip reaches only the peers subscribed when a transaction
 * is published, and gossipsub will not publish the same bytes again for minutes; a node that was
 * cut off, paused or restarted (its journal restored) would otherwise hold transactions nobody else
 * sees. So every node pulls from each peer as it connects, and from one random peer every
 * `intervalMs`, the pending transactions it does not hold yet (`pending_txs`, docs/network.md).
 */
export class TxExchange {
  private readonly mempool: Mempool;
  private readonly net: Network;
  private readonly log: Logger;
  private readonly inFlight = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private lifetime = new AbortController();
  private stopped = true;
  private readonly onConnect = (peer: string) => void this.pull(peer);

  constructor(private readonly opts: TxExchangeOptions) {
    this.mempool = opts.mempool;
    this.net = opts.network;
    this.log = opts.logger ?? silentLogger;
    this.net.handle(PENDING_TXS_PROTOCOL, (payload) => this.serve(payload));
  }

  /** Starts pulling; call once the network is started. */
  start(): void {
    this.stopped = false;
    this.lifetime = new AbortController();
    this.net.on("peer:connect", this.onConnect);
    for (const p of this.net.peers()) void this.pull(p);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.lifetime.abort(new Error("tx exchange stopped"));
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.net.off("peer:connect", this.onConnect);
  }

  private schedule(): void {
    const mean = this.opts.intervalMs ?? 10_000;
    // Jitter, so that nodes started together do not all pull in the same instant.
    this.timer = setTimeout(
      () => {
        if (this.stopped) return;
        const peers = this.net.peers();
        const peer = peers[Math.floor(Math.random() * peers.length)];
        if (peer !== undefined) void this.pull(peer);
        this.schedule();
      },
      mean * (0.8 + 0.4 * Math.random()),
    );
  }

  /** Asks `peer` for its pending transactions that this node lacks and adds the valid ones. */
  async pull(peer: string): Promise<void> {
    if (this.stopped || this.inFlight.has(peer)) return;
    this.inFlight.add(peer);
    try {
      const known: Uint8Array[] = [];
      for (const id of this.mempool.ids()) {
        if (known.length >= MAX_KNOWN_IDS) break;
        known.push(Buffer.from(id.slice(0, 2 * SHORT_TX_ID_BYTES), "hex"));
      }
      const body = await this.net.request(peer, PENDING_TXS_PROTOCOL, encodePendingTxsRequest(known), {
        timeoutMs: this.opts.requestTimeoutMs ?? 5_000,
        signal: this.lifetime.signal,
      });
      if (this.stopped) return;
      const txs = decodePendingTxsResponse(body);
      let added = 0;
      for (const bytes of txs) {
        const outcome = this.addPulled(bytes);
        this.opts.onPulled?.(outcome);
        if (outcome === "added") added++;
        // An honest peer holds only transactions it validated: a forged one proves it is not.
        if (outcome === "invalid") {
          this.log.warn({ peer }, "peer served an invalid pending transaction; ignoring the rest");
          break;
        }
      }
      if (added > 0) this.log.debug({ peer, added, offered: txs.length }, "pending transactions pulled");
    } catch (err) {
      if (!this.stopped) this.log.debug({ peer, ...errorFields(err) }, "pending_txs pull failed");
    } finally {
      this.inFlight.delete(peer);
    }
  }

  private addPulled(bytes: Uint8Array): PulledTxOutcome {
    let tx: SignedTx;
    try {
      tx = decodeTx(bytes);
    } catch {
      return "invalid";
    }
    const { state, slot } = this.opts.head();
    try {
      this.mempool.add(tx, state, slot);
      return "added";
    } catch (err) {
      // A bad signature or a malformed body is a lie; anything else (already held, nonce used by a
      // block the peer has not seen yet, pool full) is an honest difference of views.
      if (err instanceof TxError && err.verdict === "reject") return "invalid";
      if (err instanceof TxError || err instanceof MempoolError) return "known";
      throw err;
    }
  }

  private serve(payload: Uint8Array): Uint8Array {
    const known = new Set(decodePendingTxsRequest(payload));
    const maxBytes = this.opts.maxResponseBytes ?? 512 * 1024;
    const picked: Array<{ nonce: number; bytes: Uint8Array }> = [];
    let size = 4;
    for (const { id, tx } of this.mempool.entries()) {
      if (picked.length >= MAX_PENDING_TXS_PER_RESPONSE) break;
      if (known.has(id.slice(0, 2 * SHORT_TX_ID_BYTES))) continue;
      const bytes = encodeTx(tx);
      if (size + 4 + bytes.length > maxBytes) break;
      size += 4 + bytes.length;
      picked.push({ nonce: tx.nonce, bytes });
    }
    // Each sender's earlier nonces first, so the requester can hold them without gaps.
    picked.sort((a, b) => a.nonce - b.nonce);
    return encodePendingTxsResponse(picked.map((p) => p.bytes));
  }
}

/** Creates the pending-transaction exchange of a node; it registers its handler at once. */
export function createTxExchange(opts: TxExchangeOptions): TxExchange {
  return new TxExchange(opts);
}
