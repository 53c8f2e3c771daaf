/** The validator node both modes of bench-network.ts run, built one way for both. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Genesis, KeyPair } from "@cardio/core";
import {
  type CardioNode,
  createChainStore,
  createFileBlockJournal,
  createLevelKvStore,
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
 * `BENCH_STORE=memory` runs the nodes on the in-memory store (as every run did until session 6);
 * by default each node keeps its chain as `cardio start` does: LevelDB and the block journal, in a
 * temporary directory removed when the node stops.
 */
const memoryStore = process.env.BENCH_STORE === "memory";

/**
 * A node with its store (see `memoryStore`), no mDNS and no slot log, the mesh degree of `BENCH_GOSSIP_D`, and
 * its warnings and errors (a slot timer that woke late, a failed slot) on stderr.
 */
export function createBenchNode(opts: BenchNodeOptions): CardioNode {
  const dir = memoryStore ? undefined : mkdtempSync(join(tmpdir(), `cardio-bench-node-${opts.index}-`));
  const store = createChainStore(dir === undefined ? createMemoryKvStore() : createLevelKvStore({ dir }));
  const setLastSignedSlot = store.setLastSignedSlot.bind(store);
  const gossipD = gossipDFromEnv();
  const node = createNode({
    genesis: opts.genesis,
    key: opts.key,
    store,
    ...(dir === undefined
      ? {}
      : { blockJournal: createFileBlockJournal({ path: join(dir, "blocks.journal") }) }),
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
  if (dir !== undefined) {
    const stop = node.stop.bind(node);
    node.stop = async () => {
      try {
        await stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
  }
  return node;
}
