import {
  applyBlock,
  type Block,
  createDevnet,
  type Genesis,
  genesisBlock,
  type KeyPair,
  lotteryWinner,
  toHex,
} from "@cardio/core";
import { type CardioNode, type CardioNodeOptions, createNode } from "../../packages/node/src/index.js";
import { waitFor } from "./waitFor.js";

/** Options of `startCluster`. */
export interface ClusterOptions {
  stakes: bigint[];
  slotMs?: number;
  /** Delay before slot 0 ends, leaving time for the nodes to connect (default 1500 ms). */
  startDelayMs?: number;
  seed?: string;
  /** Extra per-node options. */
  nodeOptions?: (i: number) => Partial<CardioNodeOptions>;
  /** Start only these node indexes now (default all). */
  startNow?: number[];
  balance?: bigint;
  unbondingDelay?: number;
}

export interface Cluster {
  genesis: Genesis;
  keys: readonly KeyPair[];
  nodes: (CardioNode | undefined)[];
  /** Starts node i (bootstrapping to every running node). */
  startNode(i: number, extra?: Partial<CardioNodeOptions>): Promise<CardioNode>;
  stopAll(): Promise<void>;
  running(): CardioNode[];
}

let clusterCount = 0;

/** Starts a devnet of real nodes on loopback, each bootstrapped to the ones already running. */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const slotMs = opts.slotMs ?? 300;
  const seed = opts.seed ?? `cluster-${process.pid}-${clusterCount++}`;
  const { genesis, keys } = createDevnet({
    seed,
    validators: opts.stakes.length,
    stakes: opts.stakes,
    chainId: `test-${process.pid}-${clusterCount}`,
    genesisTime: Date.now() + (opts.startDelayMs ?? 1500) - slotMs,
    slotMs,
    ...(opts.balance === undefined ? {} : { balance: opts.balance }),
    ...(opts.unbondingDelay === undefined ? {} : { unbondingDelay: opts.unbondingDelay }),
  });
  const nodes: (CardioNode | undefined)[] = keys.map(() => undefined);
  const cluster: Cluster = {
    genesis,
    keys,
    nodes,
    running: () => nodes.filter((n): n is CardioNode => n?.isRunning() === true),
    async startNode(i, extra = {}) {
      const bootstrap = cluster.running().flatMap((n) => n.multiaddrs().slice(0, 1));
      const node = createNode({
        genesis,
        key: keys[i]!,
        mdns: false,
        bootstrap,
        slotLog: false,
        ...opts.nodeOptions?.(i),
        ...extra,
      });
      await node.start();
      nodes[i] = node;
      return node;
    },
    async stopAll() {
      await Promise.all(nodes.map((n) => n?.stop()));
      for (const n of nodes) if (n?.isRunning()) throw new Error(`node ${n.peerId} did not stop`);
    },
  };
  for (const i of opts.startNow ?? keys.map((_, i) => i)) await cluster.startNode(i);
  return cluster;
}

/** Waits until every given node's head is at least `height`. */
export async function waitForHeight(nodes: CardioNode[], height: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(() => nodes.every((n) => n.head().height >= height), {
    timeoutMs,
    what: () => `height ${height} on all nodes (now ${nodes.map((n) => n.head().height).join(",")})`,
  });
}

/** The canonical chain of a node from height 1 to `to`. */
export async function chainOf(node: CardioNode, to: number): Promise<Block[]> {
  const out: Block[] = [];
  for (let h = 1; h <= to; h++) {
    const b = await node.chain.canonicalBlockAt(h);
    if (b === undefined) throw new Error(`node ${node.peerId} has no block at height ${h}`);
    out.push(b.block);
  }
  return out;
}

/** Canonical block hashes (hex) of a node from 1 to `to`. */
export async function hashesOf(node: CardioNode, to: number): Promise<string[]> {
  const out: string[] = [];
  for (let h = 1; h <= to; h++) {
    const b = await node.chain.canonicalBlockAt(h);
    out.push(b === undefined ? "missing" : toHex(b.hash));
  }
  return out;
}

/**
 * Replays a chain offline from genesis with core alone: every block must validate, and every
 * proposer must be the lottery winner re-derived from its parent. Returns the proposers (hex).
 */
export function replayOffline(genesis: Genesis, blocks: Block[]): string[] {
  const g = genesisBlock(genesis);
  let parent = { hash: g.hash, height: 0, slot: 0, state: g.state };
  const proposers: string[] = [];
  for (const block of blocks) {
    const winner = lotteryWinner(parent.state, parent.hash, block.header.slot, genesis.minStake);
    if (winner === undefined || winner.hex !== toHex(block.header.proposer)) {
      throw new Error(`block at height ${block.header.height} was not forged by the lottery winner`);
    }
    const applied = applyBlock({ config: genesis, parent, block });
    proposers.push(winner.hex);
    parent = {
      hash: applied.hash,
      height: block.header.height,
      slot: block.header.slot,
      state: applied.state,
    };
  }
  return proposers;
}

/** Waits until every given node is connected to every other one. */
export async function waitForFullMesh(nodes: CardioNode[], timeoutMs = 15_000): Promise<void> {
  await waitFor(() => nodes.every((n) => nodes.every((m) => m === n || n.peers().includes(m.peerId))), {
    timeoutMs,
    what: () => `every node connected to every other (peers ${nodes.map((n) => n.peers().length).join(",")})`,
  });
}

/**
 * Waits until every given node holds the same canonical chain up to `height` (blocks near the tip may
 * still be propagating, or briefly forked, when called); returns those hashes.
 */
export async function waitForAgreement(
  nodes: CardioNode[],
  height: number,
  timeoutMs = 15_000,
): Promise<string[]> {
  let last = "";
  return waitFor(
    async () => {
      const all = await Promise.all(nodes.map((n) => hashesOf(n, height)));
      const ref = all[0]!;
      last = all.map((h) => h.findIndex((x, i) => x !== ref[i])).join(",");
      return !ref.includes("missing") && all.every((h) => h.every((x, i) => x === ref[i])) ? ref : undefined;
    },
    {
      timeoutMs,
      what: () => `identical chains up to height ${height} (first differing index per node: ${last})`,
    },
  );
}
