import type { ChainConfig, Genesis, KeyPair, SignedTx } from "@cardio/core";
import type { Registry } from "prom-client";
import type { Chain, ChainNode } from "./chain/chain.js";
import type { Logger } from "./logger.js";
import type { Mempool } from "./mempool/mempool.js";
import type { DropBudget, GossipOptions } from "./network/index.js";
import type { BlockJournal, ChainStore } from "./storage/index.js";
import type { SyncOptions } from "./sync/sync.js";
import type { TypedEmitter } from "./util/typedEmitter.js";

/** Whether the node is following the network or catching up. */
export type SyncState = "synced" | "syncing";

/** A snapshot of what the node knows, for logs, the API and the CLI. */
export interface NodeStatus {
  chainId: string;
  peerId: string;
  genesisHash: string;
  head: { height: number; slot: number; hash: string };
  currentSlot: number;
  syncState: SyncState;
  /** While syncing: blocks done, target height, blocks/s and ETA in seconds. */
  sync?: { done: number; target: number; blocksPerSecond: number; etaSeconds: number };
  peers: number;
  mempoolSize: number;
  validator: boolean;
}

/** The outcome of one slot as this node saw it. */
export interface SlotEvent {
  slot: number;
  /** Address of the lottery winner on the head at the slot start; undefined if no validators. */
  winner?: string;
  /** True when this node forged the slot's block. */
  forgedByUs: boolean;
}

/** Events of a node. */
export interface NodeEvents extends Record<string, unknown> {
  /** The head moved (`reorgDepth` > 0 when it switched branches). */
  head: { height: number; slot: number; hash: string; reorgDepth: number };
  /** A valid block was imported (any branch). */
  block: { height: number; slot: number; hash: string; proposer: string; txs: number; source: string };
  /** A slot started and its winner was drawn. */
  slot: SlotEvent;
  /** Two valid blocks by one proposer for one slot were seen; evidence was (or will be) submitted. */
  equivocation: { offender: string; slot: number };
  /** A slot ended without a block on the head for it. */
  missedSlot: { slot: number; winner?: string };
}

/** Options of `createNode`. */
export interface CardioNodeOptions {
  genesis: Genesis;
  /** The node's key: its libp2p identity and, if staked, its validator key. */
  key: KeyPair;
  /** Chain storage (default: a fresh in-memory store). */
  store?: ChainStore;
  /**
   * Journal of gossip and local blocks whose store writes are in flight (see `Chain.importBlock`);
   * the node opens it on start and closes it on stop, after the store. Give one with any persistent
   * store (`startNode` keeps it in the data directory). Default none (right for the in-memory store).
   */
  blockJournal?: BlockJournal;
  /** libp2p listen addresses (default `/ip4/127.0.0.1/tcp/0`). */
  listen?: string[];
  /** Addresses announced to peers instead of the listen addresses (default none). */
  announce?: string[];
  /** Peers to dial at start, `/ip4/…/tcp/…/p2p/…` (default none). */
  bootstrap?: string[];
  /** Discover peers on the LAN by mDNS (default true). */
  mdns?: boolean;
  /** Wall clock in ms (default `Date.now`). */
  now?: () => number;
  logger?: Logger;
  /** Metrics registry (default: a new one per node, so several nodes can share a process). */
  metrics?: Registry;
  /** Refuse connections to these peers (partition tests). */
  denyPeer?: (peerId: string) => boolean;
  /** Forge when this node wins (default true). */
  forge?: boolean;
  /** Most pending transactions (default 10,000). */
  mempoolSize?: number;
  /** Mean interval between pulls of a random peer's pending transactions, in ms (default 10 000). */
  txPullIntervalMs?: number;
  /** Sync tuning (see `SyncOptions`). */
  sync?: Partial<
    Pick<
      SyncOptions,
      | "statusIntervalMs"
      | "inStepStatusIntervalMs"
      | "farBehind"
      | "batchSize"
      | "maxOrphanDepth"
      | "requestTimeoutMs"
      | "badPeerMs"
      | "verifyThreads"
    >
  >;
  /** Also collect process metrics (CPU, RSS, heap, event loop) on the registry (default false). */
  processMetrics?: boolean;
  /** Log one status line per slot (default true). */
  slotLog?: boolean;
  /**
   * Dropped gossip messages one peer may relay per topic before it is hung up and refused for 60 s
   * (`false`: unlimited): a token bucket, one token per IGNORE and 8 per REJECT. IGNORE does not lower
   * a peer's gossipsub score, so this is what stops a peer flooding e.g. blocks with unknown parents;
   * and it hangs up a peer relaying invalid messages at once, where the score would only graylist it.
   * Defaults, far above what an honest relayer draws (it forwards each new block once, after
   * validating it, so at most a few IGNOREs a slot: late, duplicate, or ahead of us): blocks burst
   * 128 and 4 a slot (at least 8/s); transactions burst max(1 024, 2 × maxBlockTxs) and
   * 2 × maxBlockTxs a slot (at least 256/s).
   */
  gossipDropBudget?: { blocks?: DropBudget | false; txs?: DropBudget | false };
  /** gossipsub tuning: mesh degrees and heartbeat (defaults in {@link GossipOptions}). */
  gossip?: GossipOptions;
}

/** A running cardio node. */
export interface CardioNode {
  readonly peerId: string;
  readonly config: ChainConfig;
  readonly chain: Chain;
  readonly mempool: Mempool;
  readonly store: ChainStore;
  readonly metrics: Registry;
  readonly events: TypedEmitter<NodeEvents>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True between a completed `start()` and `stop()`. */
  isRunning(): boolean;
  /** Listen addresses with the peer id, to give to other nodes as bootstrap. */
  multiaddrs(): string[];
  /** Connected peer ids. */
  peers(): string[];
  /** Dials a multiaddr (with `/p2p/…`) or a known peer id. */
  dial(target: string): Promise<string>;
  /** Closes every connection to a peer (it may redial later unless `denyPeer` refuses it). */
  hangUp(peerId: string): Promise<void>;
  status(): NodeStatus;
  /** The head block node. */
  head(): ChainNode;
  /** Validates and holds a transaction, then gossips it; throws TxError/MempoolError; returns the id (hex). */
  submitTx(tx: SignedTx): Promise<string>;
  /** Blocks forged by each proposer address on the canonical chain (for the validators view). */
  blocksForged(): Map<string, number>;
}
