import { toHex } from "@cardio/core";
import { afterEach, describe, expect, it } from "vitest";
import { type Cluster, chainOf, replayOffline, startCluster, waitForHeight } from "./helpers/cluster.js";

describe("one node alone: a single-validator network", () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.stopAll();
    cluster = undefined;
  });

  it("forges every block itself, with no peer at all", async () => {
    // No bootstrap list and no mDNS: nothing to talk to.
    cluster = await startCluster({ stakes: [100n], slotMs: 200, startDelayMs: 400 });
    const node = cluster.running()[0]!;
    await waitForHeight([node], 10, 20_000);
    expect(node.peers()).toEqual([]);

    const height = node.head().height;
    const blocks = await chainOf(node, height);
    const proposers = replayOffline(cluster.genesis, blocks);
    const self = toHex(cluster.keys[0]!.publicKey);
    expect(proposers).toHaveLength(height);
    expect(proposers.every((p) => p === self)).toBe(true);
    // Alone with all the stake it is the winner of every slot, on every head.
    for (const b of blocks) expect(toHex(b.header.proposer)).toBe(self);
    // Its own count of forged blocks covers the whole chain (read with the head, in one synchronous step).
    const [forged, now] = [node.blocksForged().get(node.peerId), node.head().height];
    expect(forged).toBe(now);
    expect(node.status().syncState).toBe("synced");
  }, 30_000);
});
