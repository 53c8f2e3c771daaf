import {
  addressFromPublicKey,
  encodeTx,
  type KeyPair,
  type PublicKey,
  type SignedTx,
  signTx,
  type TxBody,
  toHex,
  txId,
} from "../../packages/core/src/index.js";
import { getJson, postJson } from "./api.js";

/*
 * The transaction load: several funded accounts, each sending BPM readings and small transfers,
 * each transaction signed locally and POSTed as hex to a random node (`POST /txs {tx}`).
 *
 * A client that never signs two different transactions with one nonce: a transaction whose fate is
 * unknown (timeout, connection refused, nonce gap at that node) is re-sent, the same bytes, to
 * another node until some node gives a definite answer. So every (sender, nonce) pair has exactly
 * one transaction, and "every transaction a node accepted is included exactly once" is a property of
 * the network, not of the client's luck.
 *
 * Outcomes kept:
 *   accepted   202 from some node: id, node, time. The invariant is about these.
 *   known      409 MEMPOOL_DUPLICATE or TX_NONCE_TOO_LOW for a transaction never answered 202 (an
 *              earlier attempt reached a node whose answer was lost): included at most once.
 *   refused    any other 4xx/5xx (a harness or node bug; reported).
 */

export interface AcceptedTx {
  id: string;
  from: string;
  nonce: number;
  kind: string;
  node: string;
  at: number;
  attempts: number;
}

export interface LoadStats {
  accepted: Map<string, AcceptedTx>;
  /** Transactions given up at the end without any node accepting them (e.g. nonce gap everywhere). */
  abandoned: Array<{ id: string; from: string; nonce: number; lastAnswer: string }>;
  /** Propagation probes: accepted txs looked up on every other running node a few seconds later. */
  probes: {
    checked: number;
    missing: Array<{ id: string; acceptedBy: string; missingAt: string[]; stillMissingAt?: string[] }>;
  };
  known: Map<string, AcceptedTx>;
  refused: Array<{ id: string; node: string; status: number; code?: string; message?: string }>;
  /** Attempts without a definite answer, by reason. */
  retries: Map<string, number>;
  submitted: number;
}

export interface LoadTarget {
  name: string;
  api: string;
}

export interface LoadOptions {
  accounts: KeyPair[];
  chainId: string;
  /** Recipients of transfers besides the load accounts themselves. */
  recipients: PublicKey[];
  /** Nodes to send to (read at each send: the harness may change the list). */
  targets: () => LoadTarget[];
  /** Mean pause between two transactions of one account, in ms. */
  intervalMs: number;
  /** HTTP timeout of one submission, in ms. */
  timeoutMs?: number;
  /**
   * Nodes to look an accepted transaction up on `probeAfterMs` later (every running node on the
   * accepting node's side of any partition), or undefined to skip the probe (e.g. a node is paused).
   */
  probeTargets?: (acceptedBy: string) => LoadTarget[] | undefined;
  probeAfterMs?: number;
  random?: () => number;
}

interface ErrorBody {
  code?: string;
  message?: string;
  id?: string;
}

export class Load {
  readonly stats: LoadStats = {
    accepted: new Map(),
    abandoned: [],
    probes: { checked: 0, missing: [] },
    known: new Map(),
    refused: [],
    retries: new Map(),
    submitted: 0,
  };
  private running = false;
  private giveUpAt = Number.POSITIVE_INFINITY;
  private loops: Promise<void>[] = [];
  private probes: Promise<void>[] = [];
  private readonly random: () => number;

  constructor(private readonly opts: LoadOptions) {
    this.random = opts.random ?? Math.random;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loops = this.opts.accounts.map((key, i) => this.loop(key, i));
  }

  /**
   * Stops signing new transactions; resolves once every in-flight one has a definite answer, or
   * after `graceMs`, when the ones still without an answer are abandoned (no node accepted them).
   */
  async stop(graceMs = 20_000): Promise<void> {
    this.running = false;
    this.giveUpAt = Date.now() + graceMs;
    await Promise.all(this.loops);
    await Promise.all(this.probes);
  }

  /** Looks `id` up on the other nodes a little later: did the gossip reach them? */
  private probe(id: string, acceptedBy: string): void {
    const targets = this.opts.probeTargets;
    // Not while a node is paused or cut off: the transaction then cannot reach everyone.
    if (targets === undefined || targets(acceptedBy) === undefined) return;
    this.probes.push(
      (async () => {
        await this.sleep(this.opts.probeAfterMs ?? 3000);
        const nodes = targets(acceptedBy);
        if (nodes === undefined) return;
        const missingAt: string[] = [];
        await Promise.all(
          nodes.map(async (n) => {
            const r = await getJson<{ status?: string }>(`${n.api}/txs/${id}`, 2000);
            if (r !== undefined && r.status === 404) missingAt.push(n.name);
          }),
        );
        // Re-check the condition: a partition or pause that began meanwhile voids the probe.
        if (targets(acceptedBy) === undefined) return;
        this.stats.probes.checked++;
        if (missingAt.length === 0) return;
        const rec: LoadStats["probes"]["missing"][number] = { id, acceptedBy, missingAt: missingAt.sort() };
        this.stats.probes.missing.push(rec);
        // Slow or lost? Look again 10 s later at the nodes that did not have it.
        await this.sleep(10_000);
        const still: string[] = [];
        await Promise.all(
          nodes
            .filter((n) => missingAt.includes(n.name))
            .map(async (n) => {
              const r = await getJson<{ status?: string }>(`${n.api}/txs/${id}`, 2000);
              if (r !== undefined && r.status === 404) still.push(n.name);
            }),
        );
        rec.stillMissingAt = still.sort();
      })(),
    );
  }

  private retry(reason: string): void {
    this.stats.retries.set(reason, (this.stats.retries.get(reason) ?? 0) + 1);
  }

  private async sleep(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
  }

  private body(key: KeyPair, nonce: number, index: number): TxBody {
    const from = key.publicKey;
    const fee = BigInt(Math.floor(this.random() * 3));
    if (this.random() < 0.6) {
      return { kind: "bpm", from, nonce, fee, bpm: 50 + Math.floor(this.random() * 120) };
    }
    const pool = [...this.opts.accounts.map((k) => k.publicKey), ...this.opts.recipients].filter(
      (_, j) => j !== index,
    );
    const to = pool[Math.floor(this.random() * pool.length)]!;
    return { kind: "transfer", from, nonce, fee, to, amount: BigInt(1 + Math.floor(this.random() * 5)) };
  }

  private async loop(key: KeyPair, index: number): Promise<void> {
    const from = addressFromPublicKey(key.publicKey);
    let nonce = 0;
    // Stagger the accounts.
    await this.sleep(this.random() * this.opts.intervalMs);
    while (this.running) {
      const body = this.body(key, nonce, index);
      const tx = signTx(body, key, this.opts.chainId);
      const hex = toHex(encodeTx(tx));
      this.stats.submitted++;
      let attempts = 0;
      let lastAnswer = "none";
      // Until a definite answer: the same bytes, to random nodes.
      for (;;) {
        attempts++;
        if (Date.now() > this.giveUpAt) {
          this.stats.abandoned.push({ id: toHexId(tx), from, nonce, lastAnswer });
          return;
        }
        const targets = this.opts.targets();
        const target = targets[Math.floor(this.random() * targets.length)];
        if (target === undefined) {
          await this.sleep(200);
          continue;
        }
        const res = await postJson<ErrorBody & { id?: string }>(
          `${target.api}/txs`,
          { tx: hex },
          this.opts.timeoutMs ?? 2000,
        );
        if ("error" in res) {
          lastAnswer = `${target.name}: ${res.error}`;
          this.retry(res.error);
          await this.sleep(100 + this.random() * 200);
          continue;
        }
        const rec = (id: string): AcceptedTx => ({
          id,
          from,
          nonce,
          kind: body.kind,
          node: target.name,
          at: Date.now(),
          attempts,
        });
        if (res.status === 202 && typeof res.body.id === "string") {
          this.stats.accepted.set(res.body.id, rec(res.body.id));
          this.stats.known.delete(res.body.id);
          this.probe(res.body.id, target.name);
          break;
        }
        const code = res.body.code;
        if (res.status === 409 && (code === "MEMPOOL_DUPLICATE" || code === "TX_NONCE_TOO_LOW")) {
          // Some node holds (or included) it already: an earlier attempt got there.
          const id = toHexId(tx);
          if (!this.stats.accepted.has(id)) this.stats.known.set(id, rec(id));
          break;
        }
        if ((res.status === 400 && code === "MEMPOOL_NONCE_GAP") || res.status === 503) {
          // That node has not seen this sender's earlier transaction yet: try again, elsewhere.
          lastAnswer = `${target.name}: ${res.status} ${code}`;
          this.retry(code ?? String(res.status));
          await this.sleep(200 + this.random() * 300);
          continue;
        }
        this.stats.refused.push({
          id: toHexId(tx),
          node: target.name,
          status: res.status,
          ...(code === undefined ? {} : { code }),
          ...(res.body.message === undefined ? {} : { message: res.body.message }),
        });
        // Refused for good: this nonce is free again only if no node holds the transaction; it
        // might (another node could have accepted an earlier attempt), so never reuse it: stop this account.
        return;
      }
      nonce++;
      await this.sleep(this.opts.intervalMs * (0.5 + this.random()));
    }
  }
}

function toHexId(tx: SignedTx): string {
  return toHex(txId(tx));
}
