/** What the network benchmark reads off a running node, in either mode. */
import type { CardioNode } from "../../packages/node/src/index.js";
import type { Network } from "../../packages/node/src/network/index.js";

/** Sum and count of `cardio_block_import_seconds` over `nodes`. */
export async function importSeconds(nodes: readonly CardioNode[]): Promise<{ sum: number; count: number }> {
  let sum = 0;
  let count = 0;
  for (const n of nodes) {
    const metric = n.metrics.getSingleMetric("cardio_block_import_seconds");
    if (metric === undefined) continue;
    for (const v of (await metric.get()).values) {
      const name = (v as { metricName?: string }).metricName;
      if (name === "cardio_block_import_seconds_sum") sum += v.value;
      if (name === "cardio_block_import_seconds_count") count += v.value;
    }
  }
  return { sum, count };
}

/** The node's libp2p network: private in CardioNode, read here for the raw-gossip baseline only. */
export function networkOf(node: CardioNode): Network {
  const net = (node as unknown as { network?: Network }).network;
  if (net === undefined || typeof net.onMessage !== "function") {
    throw new Error("this CardioNode does not hold its network in `network`; update scripts/bench-network");
  }
  return net;
}
