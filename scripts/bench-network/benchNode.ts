/** The validator node both modes of bench-network.ts run, built one way for both. */
import type { Genesis, KeyPair } from "@cardio/core";
import {
  type CardioNode,
  createChainStore,
  createLogger,
  createMemoryKvStore,
  createNode,
} from "../../packages/node/src/index.js";
import { gossipDFromEnv } from "./shared.js";

/** Options of {@link createBenchNode}. */
export interface BenchNodeOptions {
  genesis: Genesis;
  key: KeyPair;
  /** The node's index in the run (names its log lines). */
  index: number;
  /** Addresses of the nodes started before it. */
  bootstrap: string[];
  /** Called when its forger commits to a slot: the last-signed-slot write, just before it signs. */
  onForgeStart: (peerId: string, slot: number) => void;
}

/**
 * A node with an in-memory store, no mDNS and no slot log, the mesh degree of `BENCH_GOSSIP_D`, and
 * its warnings and errors (a slot timer that woke late, a failed slot) on stderr.
 */
export function createBenchNode(opts: BenchNodeOptions): CardioNode {
  const store = createChainStore(createMemoryKvStore());
  const setLastSignedSlot = store.setLastSignedSlot.bind(store);
  const gossipD = gossipDFromEnv();
  const node = createNode({
    genesis: opts.genesis,
    key: opts.key,
    store,
    mdns: false,
    bootstrap: opts.bootstrap,
    slotLog: false,
    ...(gossipD === undefined ? {} : { gossip: { D: gossipD } }),
    logger: createLogger({
      level: "warn",
      name: `node ${opts.index}`,
      pretty: false,
      destination: process.stderr,
    }),
  });
  store.setLastSignedSlot = (slot: number) => {
    opts.onForgeStart(node.peerId, slot);
    return setLastSignedSlot(slot);
  };
  return node;
}
