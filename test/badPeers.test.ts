import { randomBytes } from "node:crypto";
import { keyPairFromSeed, slotAt } from "@cardio/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CardioNode, createNode } from "../packages/node/src/index.js";
import { type Cluster, startCluster, waitForHeight } from "./helpers/cluster.js";
import {
  type BadBehaviour,
  type BadPeer,
  importedFrom,
  recordingLogger,
  startBadPeer,
  stopAndAssert,
  waitForIdenticalChains,
  waitForSameHead,
} from "./helpers/syncHelpers.js";
import { waitFor } from "./helpers/waitFor.js";

const REQUEST_TIMEOUT_MS = 2_000;

describe("bad sync peers", () => {
  let cluster: Cluster;
  let joiner: CardioNode | undefined;
  let bad: BadPeer | undefined;

  beforeAll(async () => {
    cluster = await startCluster({ stakes: [100n, 100n, 100n], slotMs: 100 });
    await waitForHeight(cluster.running(), 40, 30_000);
  });

  afterEach(async () => {
    await stopAndAssert([joiner]);
    joiner = undefined;
    await bad?.stop();
    if (bad !== undefined) expect(bad.isStopped()).toBe(true);
    bad = undefined;
  });

  afterAll(async () => {
    await cluster.stopAll();
    for (const n of cluster.nodes) expect(n?.isRunning() ?? false).toBe(false);
  });

  const behaviours: Array<{ behaviour: BadBehaviour; what: string }> = [
    { behaviour: "bad-signature", what: "real blocks with one bad signature" },
    { behaviour: "future-slot", what: "a block from a far future slot" },
    { behaviour: "unattached", what: "a chain that attaches to nothing" },
    { behaviour: "truncated", what: "a truncated stream" },
    { behaviour: "oversized", what: "a frame over the size limit" },
    { behaviour: "malformed", what: "a malformed block list" },
    { behaviour: "empty", what: "no blocks below its claimed height" },
    { behaviour: "silent", what: "no answer at all" },
  ];

  it.each(behaviours)("a peer answering with $what does not stall sync", async ({ behaviour }) => {
    const honest = cluster.running();
    const source = honest[0]!;
    bad = await startBadPeer({
      chainId: cluster.genesis.chainId,
      genesisHash: source.chain.genesisHash,
      behaviour,
      source: (h) => source.chain.canonicalBlockAt(h),
      // The current slot: above every honest head, and the most the clock lets anyone claim.
      claimedHeight: () => slotAt(cluster.genesis, Date.now()),
    });
    // A follower (not in genesis) that first knows only the bad peer, which claims the greatest height.
    const log = recordingLogger();
    joiner = createNode({
      logger: log,
      genesis: cluster.genesis,
      key: keyPairFromSeed(randomBytes(32)),
      mdns: false,
      forge: false,
      slotLog: false,
      bootstrap: [bad.multiaddr],
      sync: { requestTimeoutMs: REQUEST_TIMEOUT_MS, batchSize: 32, statusIntervalMs: 500 },
    });
    await joiner.start();
    const j = joiner;
    const b = bad;
    await waitFor(() => b.rangeRequests >= 1, {
      timeoutMs: 10_000,
      what: "a blocks_by_range request to the bad peer",
    });

    // Now honest peers appear; the joiner must give up on the liar and sync from them.
    const t0 = Date.now();
    for (const n of honest) await j.dial(n.multiaddrs()[0]!);
    const target = Math.max(...honest.map((n) => n.head().height));
    await waitFor(() => j.head().height >= target, {
      timeoutMs: REQUEST_TIMEOUT_MS + 10_000,
      what: () => `joiner at ${target} (now ${j.head().height})`,
    });
    const catchUpMs = Date.now() - t0;
    expect(await importedFrom(j, "sync")).toBeGreaterThan(0);
    // It follows the honest head and no longer counts itself as behind the liar's claimed height.
    await waitForSameHead([...honest, j]);
    await waitForIdenticalChains([...honest, j]);
    await waitFor(() => j.status().syncState === "synced", { timeoutMs: 5_000, what: "joiner synced" });
    // The liar was shunned (penalised, or passed over when its block could not be judged yet), not
    // asked again and again.
    const verdict =
      behaviour === "future-slot"
        ? "trying other peers"
        : behaviour === "silent"
          ? "timed out"
          : "shunning it";
    expect(log.find(verdict).some((e) => e.obj.peer === b.peerId)).toBe(true);
    // One request, plus at most the next batch asked ahead while the first was being imported.
    const asked = b.rangeRequests;
    expect(asked).toBeLessThanOrEqual(2);
    // And never again while shunned: a few more status rounds and blocks later, still the same count.
    const height = j.head().height;
    await waitFor(() => j.head().height >= height + 20, {
      timeoutMs: 15_000,
      what: "20 more blocks on the joiner",
    });
    expect(b.rangeRequests).toBe(asked);
    console.log(
      `${behaviour}: caught up ${target} blocks ${catchUpMs} ms after honest peers appeared; ${b.rangeRequests} range requests to the bad peer`,
    );
  });
});
