import { afterEach, describe, expect, it } from "vitest";
import { type Cluster, startCluster, waitForHeight } from "./helpers/cluster.js";
import { importedFrom, waitForIdenticalChains, waitForSameHead } from "./helpers/syncHelpers.js";
import { waitFor } from "./helpers/waitFor.js";

describe("restart gap", () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.stopAll();
    for (const n of cluster?.nodes ?? []) expect(n?.isRunning() ?? false).toBe(false);
    cluster = undefined;
  });

  it("a validator stopped for 50+ slots restarts on its store, catches up and forges again", async () => {
    const slotMs = 100;
    cluster = await startCluster({ stakes: [100n, 100n, 100n, 100n], slotMs });
    await waitForHeight(cluster.running(), 20, 30_000);

    const old = cluster.nodes[3]!;
    const store = old.store;
    await old.stop();
    expect(old.isRunning()).toBe(false);
    const stopped = { height: old.head().height, hash: old.head().hashHex, slot: old.status().currentSlot };

    // The other three go on without it for more than 50 slots.
    const others = cluster.running();
    expect(others).toHaveLength(3);
    await waitFor(() => others.every((n) => n.status().currentSlot >= stopped.slot + 55), {
      timeoutMs: 30_000,
      what: "55 slots without node 3",
    });
    await waitForHeight(others, stopped.height + 30, 30_000);
    const gapTop = Math.max(...others.map((n) => n.head().height));

    // Same key, same (in-memory) store: what a process restart on the same data dir sees.
    const restarted = await cluster.startNode(3, { store });
    const restartSlot = restarted.status().currentSlot;
    expect(restarted.chain.knows(stopped.hash)).toBe(true);
    expect(restarted.head().height).toBeGreaterThanOrEqual(stopped.height);

    await waitFor(() => restarted.head().height >= gapTop, {
      timeoutMs: 20_000,
      what: () => `restarted node at ${gapTop} (now ${restarted.head().height})`,
    });
    // The gap was more than the orphan path fetches one by one: range sync filled it.
    expect(await importedFrom(restarted, "sync")).toBeGreaterThanOrEqual(gapTop - stopped.height - 10);

    // It forges again once caught up: a block by its key, for a slot after the restart, on the chain.
    const key3 = cluster.keys[3]!;
    await waitFor(
      async () => {
        let node = restarted.head();
        while (node.slot > restartSlot) {
          if (Buffer.from(node.block!.header.proposer).equals(Buffer.from(key3.publicKey))) return true;
          const parent = restarted.chain.get(node.parentHash);
          if (parent === undefined) break;
          node = parent;
        }
        return false;
      },
      { timeoutMs: 30_000, what: "a block forged by the restarted validator" },
    );
    const all = cluster.running();
    expect(all).toHaveLength(4);
    await waitForSameHead(all);
    await waitForIdenticalChains(all);
  }, 120_000);
});
