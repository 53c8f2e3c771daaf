import { addressFromPublicKey, toHex } from "@cardio/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Cluster,
  chainOf,
  hashesOf,
  replayOffline,
  startCluster,
  waitForHeight,
} from "./helpers/cluster.js";

describe("agreement: 5 validators with unequal stakes", () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.stopAll();
    cluster = undefined;
  });

  it("forge one chain of height ≥ 30 that every node holds and the lottery explains", async () => {
    const stakes = [100n, 50n, 25n, 10n, 5n];
    cluster = await startCluster({ stakes, slotMs: 250 });
    const nodes = cluster.running();
    expect(nodes).toHaveLength(5);
    await waitForHeight(nodes, 30, 60_000);

    // Compare the chains up to a height every node has; later blocks may still be propagating.
    const common = Math.min(...nodes.map((n) => n.head().height)) - 1;
    const reference = await hashesOf(nodes[0]!, common);
    for (const n of nodes.slice(1)) expect(await hashesOf(n, common)).toEqual(reference);

    const blocks = await chainOf(nodes[0]!, common);
    const proposers = replayOffline(cluster.genesis, blocks);
    const forgedBy = (i: number) => proposers.filter((p) => p === toHex(cluster!.keys[i]!.publicKey)).length;
    const counts = stakes.map((_, i) => forgedBy(i));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(common);
    // The 100-stake validator expects ~53 % of blocks, the 5-stake one ~3 %.
    expect(counts[0]!).toBeGreaterThan(counts[4]!);
    expect(counts[0]! + counts[1]!).toBeGreaterThan(counts[3]! + counts[4]!);
    // blocksForged() agrees with the chain.
    const forged = nodes[0]!.blocksForged();
    expect(forged.get(addressFromPublicKey(cluster.keys[0]!.publicKey)) ?? 0).toBeGreaterThanOrEqual(
      counts[0]!,
    );
  }, 90_000);
});
