import {
  addressFromPublicKey,
  BlockError,
  type ChainConfig,
  CodecError,
  concatBytes,
  decodeBlock,
  decodeTx,
  encodeTx,
  lotteryWinner,
  type SignedHeader,
  type SignedTx,
  signTx,
  TxError,
  toHex,
} from "@cardio/core";
import { privateKeyFromRaw } from "@libp2p/crypto/keys";
import { Registry } from "prom-client";
import { type Chain, createChain } from "./chain/chain.js";
import { watchEquivocations } from "./chain/equivocationWatch.js";
import { createSlotTicker, type SlotTicker } from "./clock/slotTicker.js";
import { createForger, type Forger } from "./forger/forger.js";
import { errorFields, type Logger, silentLogger } from "./logger.js";
import { createMempool, type Mempool, MempoolError } from "./mempool/mempool.js";
import { createMempoolJournal, type MempoolJournal } from "./mempool/mempoolJournal.js";
import { createTxExchange, type TxExchange } from "./mempool/txExchange.js";
import { bindChainMetrics } from "./metrics/bindChainMetrics.js";
import { createNodeMetrics, type NodeMetrics } from "./metrics/nodeMetrics.js";
import {
  createNetwork,
  type DropBudget,
  type Network,
  type OnMessageOptions,
  type Verdict,
} from "./network/index.js";
import type { CardioNode, CardioNodeOptions, NodeEvents, NodeStatus } from "./nodeTypes.js";
import { type ChainStore, createChainStore, createMemoryKvStore } from "./storage/index.js";
import { createSync, type Sync } from "./sync/sync.js";
import { TypedEmitter } from "./util/typedEmitter.js";

/**
 * A cardio validator node: chain, mempool, forger, slot clock and libp2p network composed around one
 * key. Starts in dependency order (store, chain, forger, network, clock) and stops in reverse.
 */
class Node implements CardioNode {
  readonly peerId: string;
  readonly config;
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly store: ChainStore;
  readonly metrics: Registry;
  readonly events = new TypedEmitter<NodeEvents>();
  private readonly m: NodeMetrics;
  private readonly log: Logger;
  private readonly network: Network;
  private readonly forger: Forger;
  private readonly ticker: SlotTicker;
  private readonly sync: Sync;
  private readonly journal: MempoolJournal;
  private readonly txExchange: TxExchange;
  private readonly now: () => number;
  private running = false;
  /** Slot handlers still running; stop waits for them before closing the network and the store. */
  private readonly slotTasks = new Set<Promise<void>>();
  private readonly forged = new Map<string, number>();
  private readonly unsubscribe: Array<() => void> = [];
  /** Winner drawn at the start of the previous slot, to report whether it filled its slot. */
  private previousSlot: { slot: number; winner?: string; forgedByUs: boolean } | undefined;

  constructor(private readonly opts: CardioNodeOptions) {
    this.config = opts.genesis;
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.peerId = addressFromPublicKey(opts.key.publicKey);
    this.metrics = opts.metrics ?? new Registry();
    this.m = createNodeMetrics(this.metrics, { processMetrics: opts.processMetrics === true });
    this.store = opts.store ?? createChainStore(createMemoryKvStore());
    this.chain = createChain({
      genesis: opts.genesis,
      store: this.store,
      now: this.now,
      logger: this.log,
      ...(opts.blockJournal === undefined ? {} : { journal: opts.blockJournal }),
    });
    this.mempool = createMempool({
      config: opts.genesis,
      ...(opts.mempoolSize === undefined ? {} : { maxSize: opts.mempoolSize }),
    });
    this.network = createNetwork({
      privateKey: privateKeyFromRaw(concatBytes(opts.key.seed, opts.key.publicKey)),
      chainId: opts.genesis.chainId,
      listen: opts.listen ?? ["/ip4/127.0.0.1/tcp/0"],
      bootstrap: opts.bootstrap ?? [],
      ...(opts.announce === undefined ? {} : { announce: opts.announce }),
      mdns: opts.mdns ?? true,
      logger: this.log,
      metricsRegistry: this.metrics,
      ...(opts.denyPeer === undefined ? {} : { denyPeer: opts.denyPeer }),
      ...(opts.gossip === undefined ? {} : { gossip: opts.gossip }),
    });
    this.journal = createMempoolJournal({ mempool: this.mempool, store: this.store, logger: this.log });
    this.sync = createSync({
      chain: this.chain,
      network: this.network,
      logger: this.log,
      now: this.now,
      ...opts.sync,
      onProgress: (p) => {
        this.m.syncing.set(p === undefined ? 0 : 1);
        if (p !== undefined) {
          this.m.syncDoneBlocks.set(p.done);
          this.m.syncTargetHeight.set(this.sync.targetHeight());
        }
      },
    });
    this.txExchange = createTxExchange({
      mempool: this.mempool,
      network: this.network,
      logger: this.log,
      head: () => {
        const head = this.chain.head();
        return { state: head.state, slot: Math.max(this.ticker.currentSlot(), head.slot + 1) };
      },
      ...(opts.txPullIntervalMs === undefined ? {} : { intervalMs: opts.txPullIntervalMs }),
      onPulled: (outcome) => this.m.mempoolPulled.inc({ outcome }),
    });
    this.forger = createForger({
      chain: this.chain,
      mempool: this.mempool,
      store: this.store,
      ...(opts.forge === false ? {} : { key: opts.key }),
      publish: (bytes) => {
        this.network.publish(this.network.topics.blocks, bytes).catch((err: unknown) => {
          this.log.warn(errorFields(err), "block publish failed");
        });
      },
      isSyncing: () => this.syncState() === "syncing",
      logger: this.log,
    });
    this.ticker = createSlotTicker({
      config: opts.genesis,
      now: this.now,
      onSlot: (s, lateMs) => {
        this.m.slotTickDelaySeconds.observe(Math.max(0, lateMs) / 1000);
        const task = this.onSlot(s).catch((err: unknown) =>
          this.log.error(errorFields(err), "slot handling failed"),
        );
        this.slotTasks.add(task);
        void task.finally(() => this.slotTasks.delete(task));
      },
      onSkipped: (from, to) => {
        this.m.slotTicksSkipped.inc(to - from + 1);
        this.log.warn(
          { from, to },
          `slot timer woke late: slot${from === to ? ` ${from}` : `s ${from}-${to}`} passed without a tick`,
        );
      },
    });
  }

  async start(): Promise<void> {
    await this.store.open();
    try {
      await this.chain.start();
      await this.forger.start();
      const head = this.chain.head();
      await this.journal.restore(head.state, Math.max(this.ticker.currentSlot(), head.slot + 1));
      this.journal.start();
      this.initForgedCounts();
      this.wireChainEvents();
      this.unsubscribe.push(
        watchEquivocations({
          chain: this.chain,
          onEquivocation: (a, b) => void this.reportEquivocation(a, b),
        }),
      );
      this.unsubscribe.push(bindChainMetrics({ chain: this.chain, mempool: this.mempool, metrics: this.m }));
      // Counted on (dis)connection, not per head: listing peers builds a PeerId per connection.
      const countPeers = () => this.m.peers.set(this.network.peers().length);
      this.network.on("peer:connect", countPeers);
      this.network.on("peer:disconnect", countPeers);
      this.unsubscribe.push(() => {
        this.network.off("peer:connect", countPeers);
        this.network.off("peer:disconnect", countPeers);
      });
      const budgets = dropBudgets(this.config, this.opts.gossipDropBudget);
      this.network.onMessage(
        this.network.topics.blocks,
        (data, from) => this.onBlockMessage(data, from),
        budgets.blocks,
      );
      this.network.onMessage(this.network.topics.txs, (data) => this.onTxMessage(data), budgets.txs);
      await this.network.start();
      this.sync.start();
      this.txExchange.start();
      this.updateHeadMetrics();
      this.ticker.start();
      this.running = true;
      this.log.info(
        { peerId: this.peerId, addrs: this.multiaddrs(), height: this.chain.head().height },
        "node started",
      );
    } catch (err) {
      await this.stopParts();
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.stopParts();
    this.log.info({ peerId: this.peerId }, "node stopped");
  }

  private async stopParts(): Promise<void> {
    this.ticker.stop();
    // A forger that already signed finishes publishing and importing its block before the store closes.
    await Promise.all(this.slotTasks);
    for (const u of this.unsubscribe.splice(0)) u();
    await this.txExchange.stop();
    await this.sync.stop();
    this.journal.stop();
    await this.network.stop().catch((err: unknown) => this.log.warn(errorFields(err), "network stop failed"));
    // Let an import that is running finish its write before the store closes; a clean stop leaves the
    // block journal empty.
    await this.chain
      .settle()
      .catch((err: unknown) => this.log.warn(errorFields(err), "chain did not settle"));
    await this.store.close();
    this.opts.blockJournal?.close();
  }

  isRunning(): boolean {
    return this.running;
  }

  multiaddrs(): string[] {
    return this.network.multiaddrs();
  }

  peers(): string[] {
    return this.network.peers();
  }

  dial(target: string): Promise<string> {
    return this.network.dial(target);
  }

  hangUp(peerId: string): Promise<void> {
    return this.network.hangUp(peerId);
  }

  head() {
    return this.chain.head();
  }

  blocksForged(): Map<string, number> {
    return new Map(this.forged);
  }

  private syncState(): "synced" | "syncing" {
    return this.sync.isSyncing() ? "syncing" : "synced";
  }

  status(): NodeStatus {
    const head = this.chain.head();
    return {
      chainId: this.config.chainId,
      peerId: this.peerId,
      genesisHash: toHex(this.chain.genesisHash),
      head: { height: head.height, slot: head.slot, hash: head.hashHex },
      currentSlot: this.ticker.currentSlot(),
      syncState: this.syncState(),
      ...(this.sync.getProgress() === undefined ? {} : { sync: this.sync.getProgress()! }),
      peers: this.network.peers().length,
      mempoolSize: this.mempool.size,
      validator: this.opts.forge !== false,
    };
  }

  async submitTx(tx: SignedTx): Promise<string> {
    const head = this.chain.head();
    const id = this.mempool.add(tx, head.state, Math.max(this.ticker.currentSlot(), head.slot + 1));
    // Acknowledged only once durable: a crash after this cannot lose it.
    await this.journal.persisted(id);
    this.m.mempoolSize.set(this.mempool.size);
    await this.network.publish(this.network.topics.txs, encodeTx(tx)).catch((err: unknown) => {
      this.log.warn({ id, ...errorFields(err) }, "tx publish failed");
    });
    return id;
  }

  private async onBlockMessage(data: Uint8Array, from: string): Promise<Verdict> {
    const verdict = await this.importGossipBlock(data, from);
    this.m.gossipMessages.inc({ topic: "blocks", verdict });
    return verdict;
  }

  private async importGossipBlock(data: Uint8Array, from: string): Promise<Verdict> {
    let block: ReturnType<typeof decodeBlock>;
    try {
      block = decodeBlock(data, this.config.maxBlockBytes);
    } catch (err) {
      this.log.debug({ from, ...errorFields(err) }, "undecodable block from gossip");
      return "reject";
    }
    const end = this.m.blockImportSeconds.startTimer();
    try {
      // The received bytes are the block's one encoding (the decoder refuses any other), so they are
      // stored as they are instead of being encoded again; copied, so the store does not keep the
      // whole gossip RPC they are a view of.
      const result = await this.chain.importBlock(block, "gossip", data.length, { bytes: data.slice() });
      if (result.status === "orphan") void this.sync.resolveOrphan(block, from);
      return result.status === "imported" ? "accept" : "ignore";
    } catch (err) {
      if (err instanceof BlockError) {
        this.log.debug({ from, code: err.code, msg: err.message }, `gossip block ${err.verdict}ed`);
        return err.verdict;
      }
      this.log.warn({ from, ...errorFields(err) }, "block import failed");
      return "ignore";
    } finally {
      end();
    }
  }

  private onTxMessage(data: Uint8Array): Verdict {
    let verdict: Verdict;
    try {
      const tx = decodeTx(data);
      const head = this.chain.head();
      this.mempool.add(tx, head.state, Math.max(this.ticker.currentSlot(), head.slot + 1));
      verdict = "accept";
    } catch (err) {
      if (err instanceof CodecError || err instanceof TxError) verdict = err.verdict;
      else if (err instanceof MempoolError) verdict = "ignore";
      else {
        this.log.warn(errorFields(err), "tx handling failed");
        verdict = "ignore";
      }
    }
    this.m.gossipMessages.inc({ topic: "txs", verdict });
    this.m.mempoolSize.set(this.mempool.size);
    return verdict;
  }

  private wireChainEvents(): void {
    this.unsubscribe.push(
      this.chain.on("block", ({ node, source }) => {
        this.events.emit("block", {
          height: node.height,
          slot: node.slot,
          hash: node.hashHex,
          proposer: this.proposerAddress(node.block!.header.proposer),
          txs: node.block!.txs.length,
          source,
        });
      }),
      this.chain.on("head", ({ head, previous, reorg }) => {
        if (reorg !== undefined) {
          for (const n of reorg.removed) this.countForged(n.block!.header.proposer, -1);
          for (const n of reorg.added) this.countForged(n.block!.header.proposer, 1);
          this.log.info(
            { depth: reorg.depth, from: previous.hashHex.slice(0, 12), to: head.hashHex.slice(0, 12) },
            "reorg",
          );
        } else {
          this.countForged(head.block!.header.proposer, 1);
        }
        const nextSlot = Math.max(this.ticker.currentSlot(), head.slot + 1);
        this.mempool.revalidate(head.state, nextSlot);
        if (reorg !== undefined) {
          // Transactions of blocks that left the canonical chain go back to the pool if still valid.
          for (const n of reorg.removed) {
            for (const tx of n.block!.txs) {
              try {
                this.mempool.add(tx, head.state, nextSlot, { verified: true });
              } catch {
                // Included on the new branch too, or no longer valid: nothing to restore.
              }
            }
          }
        }
        this.updateHeadMetrics();
        this.events.emit("head", {
          height: head.height,
          slot: head.slot,
          hash: head.hashHex,
          reorgDepth: reorg?.depth ?? 0,
        });
      }),
    );
  }

  /** Two valid blocks by one proposer for one slot: gossip an `evidence` transaction so it is slashed. */
  private async reportEquivocation(headerA: SignedHeader, headerB: SignedHeader): Promise<void> {
    const offender = addressFromPublicKey(headerA.proposer);
    this.log.warn(
      { offender, slot: headerA.slot },
      "equivocation detected: two blocks by one proposer for one slot",
    );
    this.events.emit("equivocation", { offender, slot: headerA.slot });
    const key = this.opts.key;
    const head = this.chain.head();
    const tx = signTx(
      {
        kind: "evidence",
        from: key.publicKey,
        nonce: this.mempool.nextNonce(key.publicKey, head.state),
        fee: 0n,
        headerA,
        headerB,
      },
      key,
      this.config.chainId,
    );
    try {
      await this.submitTx(tx);
    } catch (err) {
      // Someone else's evidence for the same offence got in first, or ours is already pending.
      this.log.debug({ offender, ...errorFields(err) }, "evidence not submitted");
    }
  }

  /** Address of each proposer key seen (base58 per block costs a measurable share of a sync). */
  private readonly proposerAddresses = new Map<string, string>();

  private proposerAddress(proposer: Uint8Array): string {
    const key = Buffer.from(proposer.buffer, proposer.byteOffset, proposer.byteLength).toString("latin1");
    let addr = this.proposerAddresses.get(key);
    if (addr === undefined) {
      // Proposers are validators, so this stays small; the cap only guards against a flood of keys.
      if (this.proposerAddresses.size >= 10_000) this.proposerAddresses.clear();
      addr = addressFromPublicKey(proposer);
      this.proposerAddresses.set(key, addr);
    }
    return addr;
  }

  private countForged(proposer: Uint8Array, delta: number): void {
    const addr = this.proposerAddress(proposer);
    const n = (this.forged.get(addr) ?? 0) + delta;
    if (n <= 0) this.forged.delete(addr);
    else this.forged.set(addr, n);
  }

  private initForgedCounts(): void {
    this.forged.clear();
    let node = this.chain.head();
    const root = this.chain.tree.root();
    // In-memory part of the canonical chain; older history is counted from the store lazily if needed.
    while (node.height > root.height) {
      this.countForged(node.block!.header.proposer, 1);
      const parent = this.chain.get(node.parentHash);
      if (parent === undefined) break;
      node = parent;
    }
  }

  private updateHeadMetrics(): void {
    const head = this.chain.head();
    this.m.headHeight.set(head.height);
    this.m.headSlot.set(head.slot);
    this.m.mempoolSize.set(this.mempool.size);
  }

  private async onSlot(slot: number): Promise<void> {
    this.m.currentSlot.set(slot);
    this.reportPreviousSlot(slot);
    const outcome = await this.forger.onSlot(slot);
    const winner = outcome.winner === undefined ? undefined : this.proposerAddress(outcome.winner);
    const forgedByUs = outcome.forged !== undefined;
    if (forgedByUs) this.m.blocksForged.inc();
    if (outcome.skipped !== undefined && outcome.skipped !== "stale-head") this.m.slotsMissed.inc();
    this.previousSlot = { slot, forgedByUs, ...(winner === undefined ? {} : { winner }) };
    this.events.emit("slot", { slot, forgedByUs, ...(winner === undefined ? {} : { winner }) });
    if (this.opts.slotLog !== false) {
      const head = this.chain.head();
      const peers = this.network.peers().length;
      const sync = this.syncState();
      const who = winner === undefined ? "none" : `${winner.slice(0, 8)}…${winner.slice(-6)}`;
      // The tutorial announced each slot's winner; this is that line, with the node's own view.
      this.log.info(
        { sync, slot, height: head.height, head: head.hashHex.slice(0, 8), peers, winner, you: forgedByUs },
        `[${sync}] slot ${slot} | head ${head.height} ${head.hashHex.slice(0, 8)} | peers ${peers} | winner ${who}${forgedByUs ? " (you, forged)" : ""}`,
      );
    }
    this.updateHeadMetrics();
  }

  /** At the start of `slot`, reports whether slot-1 got a block on the head chain. */
  private reportPreviousSlot(slot: number): void {
    const prev = this.previousSlot;
    if (prev === undefined || prev.slot !== slot - 1) return;
    let node = this.chain.head();
    while (node.slot > prev.slot) {
      const parent = this.chain.get(node.parentHash);
      if (parent === undefined) break;
      node = parent;
    }
    if (node.slot !== prev.slot) {
      this.m.slotsEmpty.inc();
      this.events.emit("missedSlot", {
        slot: prev.slot,
        ...(prev.winner === undefined ? {} : { winner: prev.winner }),
      });
    }
  }

  /** The lottery winner of `slot` on the current head (for the CLI and API). */
  winnerOf(slot: number): string | undefined {
    const head = this.chain.head();
    const w = lotteryWinner(head.state, head.hash, slot, this.config.minStake);
    return w === undefined ? undefined : addressFromPublicKey(w.publicKey);
  }
}

/** Creates a node; nothing runs until `start()`. */
export function createNode(opts: CardioNodeOptions): CardioNode {
  return new Node(opts);
}

/** The gossip drop budgets of `CardioNodeOptions.gossipDropBudget`, defaults filled in per chain. */
function dropBudgets(
  config: ChainConfig,
  chosen: CardioNodeOptions["gossipDropBudget"] = {},
): { blocks: OnMessageOptions; txs: OnMessageOptions } {
  const perSlot = (n: number, floor: number) => Math.max(floor, (n * 1000) / config.slotMs);
  const pick = (value: DropBudget | false | undefined, fallback: DropBudget): OnMessageOptions =>
    value === false ? {} : { dropBudget: value ?? fallback };
  return {
    blocks: pick(chosen.blocks, { burst: 128, perSecond: perSlot(4, 8) }),
    txs: pick(chosen.txs, {
      burst: Math.max(1024, 2 * config.maxBlockTxs),
      perSecond: perSlot(2 * config.maxBlockTxs, 256),
    }),
  };
}
