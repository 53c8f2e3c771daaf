import { afterEach, describe, expect, it } from "vitest";
import { type Cluster, startCluster, waitForHeight } from "./helpers/cluster.js";
import { importedFrom, metricValue, waitForIdenticalChains, waitForSameHead } from "./helpers/syncHelpers.js";
import { waitFor } from "./helpers/waitFor.js";

describe("late joiner", () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.stopAll();
    for (const n of cluster?.nodes ?? []) expect(n?.isRunning() ?? false).toBe(false);
    cluster = undefined;
  });

  it("a node started empty after height 300 range-syncs to the head, then follows gossip", async () => {
    // Four validators forge; the fifth is in genesis with no stake, so its absence leaves no slot empty.
    cluster = await startCluster({
      stakes: [100n, 100n, 100n, 100n, 0n],
      slotMs: 100,
      startNow: [0, 1, 2, 3],
    });
    const veterans = cluster.running();
    expect(veterans).toHaveLength(4);
    await waitForHeight(veterans, 300, 90_000);

    const joinedAt = Math.max(...veterans.map((n) => n.head().height));
    const syncStates = new Set<string>();
    let sawProgress = false;
    const t0 = Date.now();
    const joiner = await cluster.startNode(4);
    expect(joiner.head().height).toBe(0);

    // Catch up: the whole gap, mostly by blocks_by_range (gossip only carries the newest blocks).
    await waitFor(
      () => {
        const s = joiner.status();
        syncStates.add(s.syncState);
        if (s.sync !== undefined && s.sync.done > 0) sawProgress = true;
        return joiner.head().height >= joinedAt;
      },
      { timeoutMs: 30_000, intervalMs: 5, what: () => `joiner at ${joinedAt} (now ${joiner.head().height})` },
    );
    const catchUpMs = Date.now() - t0;
    const bySync = await importedFrom(joiner, "sync");
    expect(bySync).toBeGreaterThanOrEqual(250);
    expect(await metricValue(joiner, "cardio_sync_done_blocks")).toBeGreaterThan(0);
    expect(syncStates.has("syncing") || sawProgress).toBe(true);

    // Then it follows: new blocks reach it by gossip, and it keeps the network's head.
    const gossipBefore = await importedFrom(joiner, "gossip");
    await waitFor(async () => (await importedFrom(joiner, "gossip")) >= gossipBefore + 10, {
      timeoutMs: 20_000,
      what: "10 gossiped blocks on the joiner",
    });
    const everyone = cluster.running();
    expect(everyone).toHaveLength(5);
    await waitForSameHead(everyone);
    const upTo = await waitForIdenticalChains(everyone);
    expect(upTo).toBeGreaterThan(joinedAt);
    expect(joiner.status().syncState).toBe("synced");
    expect(joiner.status().sync).toBeUndefined();
    console.log(
      `late joiner: caught up ${joinedAt} blocks in ${catchUpMs} ms (${bySync} by range sync); chains identical to ${upTo}`,
    );
  }, 120_000);
});
