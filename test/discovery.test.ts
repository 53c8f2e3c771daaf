import { afterEach, describe, expect, it } from "vitest";
import { type Cluster, hashesOf, startCluster, waitForHeight } from "./helpers/cluster.js";
import { waitFor } from "./helpers/waitFor.js";

describe("discovery: mDNS alone", () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.stopAll();
    cluster = undefined;
  });

  it("two nodes with no bootstrap list find each other and agree on a chain", async () => {
    cluster = await startCluster({
      stakes: [100n, 100n],
      slotMs: 250,
      startDelayMs: 3000,
      // No bootstrap addresses at all: the only way to meet is mDNS (the service tag derives from the
      // chain id, which is unique per test cluster, so other tests' nodes are never found).
      nodeOptions: () => ({ mdns: true, bootstrap: [] }),
    });
    const [a, b] = cluster.running();
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    await waitFor(() => a!.peers().includes(b!.peerId) && b!.peers().includes(a!.peerId), {
      timeoutMs: 15_000,
      what: "the two nodes to connect through mDNS",
    });

    await waitForHeight([a!, b!], 8, 30_000);
    const common = Math.min(a!.head().height, b!.head().height) - 1;
    expect(common).toBeGreaterThanOrEqual(5);
    const hashes = await hashesOf(a!, common);
    expect(await hashesOf(b!, common)).toEqual(hashes);
    expect(hashes).not.toContain("missing");
  }, 60_000);
});
