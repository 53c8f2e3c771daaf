import { type KeyPair, signTx, toHex, txId } from "@cardio/core";
import { afterEach, describe, expect, it } from "vitest";
import { type Cluster, startCluster } from "./helpers/cluster.js";
import { metricValue } from "./helpers/syncHelpers.js";
import { waitFor } from "./helpers/waitFor.js";

function bpm(key: KeyPair, chainId: string, nonce: number, value: number) {
  return signTx({ kind: "bpm", from: key.publicKey, nonce, fee: 1n, bpm: value }, key, chainId);
}

/**
 * Pending transactions reach peers that gossip missed: a node pulls the ones it lacks (`pending_txs`)
 * from each peer as it connects, and from a random peer periodically. Nobody forges here, so a
 * transaction can only travel as a pending one.
 */
describe("pending transaction exchange", () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.stopAll();
    cluster = undefined;
  });

  it("hands a transaction accepted before a peer connected to that peer, and fills gaps gossip left", async () => {
    cluster = await startCluster({
      stakes: [100n, 100n],
      balance: 1000n,
      startNow: [0],
      nodeOptions: () => ({ forge: false, txPullIntervalMs: 400 }),
    });
    const { genesis, keys } = cluster;
    const a = cluster.nodes[0]!;
    // Accepted while alone: its gossip reached nobody.
    const first = await a.submitTx(bpm(keys[0]!, genesis.chainId, 0, 72));
    expect(a.peers()).toHaveLength(0);

    const b = await cluster.startNode(1);
    await waitFor(() => b.mempool.has(first), {
      timeoutMs: 10_000,
      what: () => `tx ${first.slice(0, 12)} at the new peer (pool ${b.mempool.size})`,
    });
    expect(await metricValue(b, "cardio_mempool_pulled_total", { outcome: "added" })).toBeGreaterThanOrEqual(
      1,
    );

    // Held by `a` without ever being published (as after a journal restore or a lost gossip message):
    // only the periodic pull can move it.
    const head = a.head();
    const second = bpm(keys[0]!, genesis.chainId, 1, 80);
    const secondId = a.mempool.add(second, head.state, head.slot + 1);
    expect(secondId).toBe(toHex(txId(second)));
    await waitFor(() => b.mempool.has(secondId), {
      timeoutMs: 10_000,
      what: () => `unpublished tx ${secondId.slice(0, 12)} pulled by the peer`,
    });
    // Both pools now hold the same transactions, and nothing invalid crossed.
    expect([...b.mempool.ids()].sort()).toEqual([...a.mempool.ids()].sort());
    expect(await metricValue(b, "cardio_mempool_pulled_total", { outcome: "invalid" })).toBe(0);
    expect(await metricValue(a, "cardio_mempool_pulled_total", { outcome: "invalid" })).toBe(0);
  });
});
