import {
  addressFromPublicKey,
  type Block,
  buildBlock,
  createDevnet,
  type Devnet,
  equalBytes,
  type KeyPair,
  lotteryWinner,
  type SignedTx,
  signTx,
  type TxBody,
  toHex,
} from "@cardio/core";
import { Registry } from "prom-client";
import { type Chain, createChain } from "../../src/chain/chain.js";
import { createMempool, type Mempool } from "../../src/mempool/mempool.js";
import { bindChainMetrics } from "../../src/metrics/bindChainMetrics.js";
import { createNodeMetrics, type NodeMetrics } from "../../src/metrics/nodeMetrics.js";
import type { CardioNode, NodeEvents, NodeStatus, SyncState } from "../../src/nodeTypes.js";
import { type ChainStore, createChainStore, createMemoryKvStore } from "../../src/storage/index.js";
import { TypedEmitter } from "../../src/util/typedEmitter.js";

/** A TypedEmitter that counts its live listeners, so tests can prove subscribers unsubscribe. */
export class CountingEmitter<E extends Record<string, unknown>> extends TypedEmitter<E> {
  private live = 0;

  override on<K extends keyof E & string>(event: K, listener: (payload: E[K]) => void): () => void {
    const off = super.on(event, listener);
    this.live++;
    let done = false;
    return () => {
      if (!done) {
        done = true;
        this.live--;
      }
      off();
    };
  }

  /** Listeners subscribed through `on` and not yet unsubscribed. */
  listenerCount(): number {
    return this.live;
  }
}

/**
 * A `CardioNode` without a network: a real chain on an in-memory store, a real mempool and a real
 * registry, with blocks forged on demand by whichever devnet key wins the slot.
 */
export interface FakeNode extends CardioNode {
  readonly devnet: Devnet;
  readonly events: CountingEmitter<NodeEvents>;
  readonly nodeMetrics: NodeMetrics;
  syncState: SyncState;
  /** When set, `submitTx` throws it (to test the 500 path). */
  failSubmit?: Error;
  /** Forges and imports the next slot's block from the mempool's candidates; emits node events. */
  forge(): Promise<Block>;
  /** Signs `body` with devnet key `i` on this chain. */
  sign(i: number, body: TxBody): SignedTx;
  /** Address of devnet key `i`. */
  address(i: number): string;
  /** Nonce devnet key `i` must use next, counting nothing pending. */
  nonceOf(i: number): number;
}

export async function createFakeNode(): Promise<FakeNode> {
  const devnet = createDevnet({
    seed: "cardio-api-test",
    validators: 4,
    stakes: [100n, 200n, 300n, 5n], // the last one is below minStake: funded, not a validator
    genesisTime: Date.now() - 3_600_000,
  });
  const { genesis } = devnet;
  const store: ChainStore = createChainStore(createMemoryKvStore());
  await store.open();
  const chain: Chain = createChain({ genesis, store });
  await chain.start();
  const mempool: Mempool = createMempool({ config: genesis });
  const registry = new Registry();
  const nodeMetrics = createNodeMetrics(registry);
  bindChainMetrics({ chain, mempool, metrics: nodeMetrics });
  const events = new CountingEmitter<NodeEvents>();
  const keyOf = (i: number): KeyPair => devnet.keys[i]!;

  const node: FakeNode = {
    devnet,
    peerId: addressFromPublicKey(keyOf(0).publicKey),
    config: genesis,
    chain,
    mempool,
    store,
    metrics: registry,
    nodeMetrics,
    events,
    syncState: "synced",
    async start() {},
    async stop() {
      await store.close();
    },
    isRunning: () => true,
    multiaddrs: () => [],
    peers: () => [],
    dial: async () => {
      throw new Error("the fake node has no network");
    },
    hangUp: async () => {},
    head: () => chain.head(),
    status(): NodeStatus {
      const head = chain.head();
      return {
        chainId: genesis.chainId,
        peerId: node.peerId,
        genesisHash: toHex(chain.genesisHash),
        head: { height: head.height, slot: head.slot, hash: head.hashHex },
        currentSlot: head.slot + 1,
        syncState: node.syncState,
        ...(node.syncState === "syncing"
          ? { sync: { done: 5, target: 50, blocksPerSecond: 12.5, etaSeconds: 3.6 } }
          : {}),
        peers: 0,
        mempoolSize: mempool.size,
        validator: true,
      };
    },
    async submitTx(tx) {
      if (node.failSubmit !== undefined) throw node.failSubmit;
      const head = chain.head();
      return mempool.add(tx, head.state, head.slot + 1);
    },
    blocksForged() {
      const out = new Map<string, number>();
      let n = chain.head();
      while (n.height > 0) {
        const a = addressFromPublicKey(n.block!.header.proposer);
        out.set(a, (out.get(a) ?? 0) + 1);
        n = chain.get(n.parentHash)!;
      }
      return out;
    },
    async forge() {
      const head = chain.head();
      const slot = head.slot + 1;
      const winner = lotteryWinner(head.state, head.hash, slot, genesis.minStake)!;
      const key = devnet.keys.find((k) => equalBytes(k.publicKey, winner.publicKey))!;
      events.emit("slot", { slot, winner: addressFromPublicKey(key.publicKey), forgedByUs: false });
      const built = buildBlock({
        config: genesis,
        parent: head,
        slot,
        key,
        candidates: mempool.candidates(),
      });
      const result = await chain.importBlock(built.block, "local");
      if (result.status !== "imported") throw new Error(`forged block not imported: ${result.status}`);
      mempool.revalidate(chain.head().state, slot + 1);
      const h = built.block.header;
      events.emit("block", {
        height: h.height,
        slot: h.slot,
        hash: toHex(built.hash),
        proposer: addressFromPublicKey(h.proposer),
        txs: built.block.txs.length,
        source: "local",
      });
      events.emit("head", { height: h.height, slot: h.slot, hash: toHex(built.hash), reorgDepth: 0 });
      return built.block;
    },
    sign: (i, body) => signTx(body, keyOf(i), genesis.chainId),
    address: (i) => addressFromPublicKey(keyOf(i).publicKey),
    nonceOf: (i) => chain.head().state.accounts.get(toHex(keyOf(i).publicKey))?.nonce ?? 0,
  };
  return node;
}
