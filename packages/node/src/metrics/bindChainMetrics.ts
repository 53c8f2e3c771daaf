import type { Chain } from "../chain/chain.js";
import type { Mempool } from "../mempool/mempool.js";
import type { NodeMetrics } from "./nodeMetrics.js";

/** What `bindChainMetrics` follows. */
export interface ChainMetricsSources {
  chain: Chain;
  mempool: Mempool;
  metrics: NodeMetrics;
}

/**
 * Keeps the metrics that follow from chain and mempool events up to date: head height and slot,
 * imports by source, reorgs, mempool size and drops. Returns the function that detaches it.
 *
 * The rest is the node's to set, because only it sees the cause: peers, current slot, sync progress,
 * gossip verdicts, forged and missed slots, and import time (time `chain.importBlock` with
 * `metrics.blockImportSeconds.startTimer()`).
 */
export function bindChainMetrics({ chain, mempool, metrics }: ChainMetricsSources): () => void {
  const setHead = (height: number, slot: number): void => {
    metrics.headHeight.set(height);
    metrics.headSlot.set(slot);
  };
  const head = chain.head();
  setHead(head.height, head.slot);
  metrics.mempoolSize.set(mempool.size);

  const offs = [
    chain.on("block", ({ source }) => metrics.blocksImported.inc({ source })),
    chain.on("head", ({ head, reorg }) => {
      setHead(head.height, head.slot);
      if (reorg !== undefined) metrics.reorgs.inc();
    }),
    mempool.on("added", () => metrics.mempoolSize.set(mempool.size)),
    mempool.on("removed", ({ reason }) => {
      metrics.mempoolSize.set(mempool.size);
      // Inclusion is the normal way out, not a drop.
      if (reason !== "included") metrics.mempoolDropped.inc({ reason });
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}
