import { addressFromPublicKey, type KeyPair, type SignedTx, signTx, toHex, txId } from "@cardio/core";
import { afterEach, describe, expect, it } from "vitest";
import type { CardioNode } from "../packages/node/src/index.js";
import { type Cluster, startCluster, waitForHeight } from "./helpers/cluster.js";
import {
  canonicalHashAt,
  metricValue,
  Partition,
  waitForIdenticalChains,
  waitForSameHead,
} from "./helpers/syncHelpers.js";
import { waitFor } from "./helpers/waitFor.js";

function transfer(key: KeyPair, to: KeyPair, amount: bigint, nonce: number, chainId: string): SignedTx {
  return signTx(
    { kind: "transfer", from: key.publicKey, to: to.publicKey, amount, nonce, fee: 1n },
    key,
    chainId,
  );
}

/** True when the node has a connection to any of `peers`. */
const linked = (n: CardioNode, peers: CardioNode[]) => peers.some((p) => n.peers().includes(p.peerId));

describe("partition and heal", () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.stopAll();
    for (const n of cluster?.nodes ?? []) expect(n?.isRunning() ?? false).toBe(false);
    cluster = undefined;
  });

  it("3 + 2 fork apart for 20+ slots, then converge on the majority's branch with the minority's txs", async () => {
    const slotMs = 200;
    const partition = new Partition();
    // The majority holds 3/4 of the stake, so its branch grows about three times as fast.
    const stakes = [100n, 100n, 100n, 50n, 50n];
    // Filled once the keys exist; nothing is denied before the split anyway.
    let ids: string[] = [];
    cluster = await startCluster({
      stakes,
      slotMs,
      nodeOptions: (i) => ({ denyPeer: (peer) => partition.denies(ids[i]!, peer) }),
    });
    const c = cluster;
    ids = c.keys.map((k) => addressFromPublicKey(k.publicKey));
    const nodes = c.running();
    expect(nodes).toHaveLength(5);
    const majority = nodes.slice(0, 3);
    const minority = nodes.slice(3);
    await waitForHeight(nodes, 5, 30_000);

    // ---- split: refuse new connections across the line, then close the open ones.
    partition.split([majority.map((n) => n.peerId), minority.map((n) => n.peerId)]);
    for (const a of majority) {
      for (const b of minority) {
        await a.hangUp(b.peerId);
        await b.hangUp(a.peerId);
      }
    }
    await waitFor(
      () => majority.every((n) => !linked(n, minority)) && minority.every((n) => !linked(n, majority)),
      {
        timeoutMs: 10_000,
        what: "no connection across the partition",
      },
    );
    const splitHead = Math.max(...nodes.map((n) => n.head().height));
    const splitSlot = nodes[0]!.status().currentSlot;

    // Transactions on the minority side: one that stays valid after the heal, one double spend whose
    // conflicting twin the majority includes instead.
    const chainId = c.genesis.chainId;
    const [k0, k1, , k3, k4] = c.keys as KeyPair[];
    const keep = transfer(k3!, k0!, 7n, 0, chainId);
    const spendA = transfer(k4!, k0!, 5n, 0, chainId);
    const spendB = transfer(k4!, k1!, 6n, 0, chainId);
    const keepId = toHex(txId(keep));
    const spendAId = toHex(txId(spendA));
    const spendBId = toHex(txId(spendB));
    await minority[0]!.submitTx(keep);
    await minority[1]!.submitTx(spendA);
    await majority[0]!.submitTx(spendB);

    // Both sides forge on their own branch for 20+ slots.
    await waitFor(
      async () => {
        if (nodes[0]!.status().currentSlot < splitSlot + 20) return false;
        const majHeight = Math.min(...majority.map((n) => n.head().height));
        const minHeight = Math.max(...minority.map((n) => n.head().height));
        const minIncluded = await Promise.all(
          [keepId, spendAId].map((id) => minority[0]!.chain.txInclusion(id)),
        );
        const majIncluded = await majority[0]!.chain.txInclusion(spendBId);
        return (
          minHeight >= splitHead + 2 &&
          majHeight >= minHeight + 3 &&
          minIncluded.every((x) => x !== undefined) &&
          majIncluded !== undefined
        );
      },
      {
        timeoutMs: 60_000,
        intervalMs: 100,
        what: () =>
          `both branches grown and txs included (heights ${nodes.map((n) => n.head().height).join(",")}, split at ${splitHead})`,
      },
    );
    // Still apart: the two sides hold different blocks above the split.
    const majHead = majority[0]!.head();
    const minHead = minority[0]!.head();
    expect(majority.every((n) => !linked(n, minority))).toBe(true);
    expect(await canonicalHashAt(minority[0]!, splitHead + 1)).not.toBe(
      await canonicalHashAt(majority[0]!, splitHead + 1),
    );
    const minBranchBlock = (await minority[0]!.chain.txInclusion(keepId))!.blockHash;
    const reorgsBefore = await Promise.all(minority.map((n) => metricValue(n, "cardio_reorgs_total")));

    // ---- heal: the minority's kept peers are redialled; nothing else is done by the test.
    const healSlot = nodes[0]!.status().currentSlot;
    partition.heal();
    await waitFor(() => minority.every((n) => majority.every((m) => n.peers().includes(m.peerId))), {
      timeoutMs: 15_000,
      what: "the partition reconnected",
    });
    const head = await waitForSameHead(nodes, 15_000);
    const healSlots = nodes[0]!.status().currentSlot - healSlot;
    expect(head.height).toBeGreaterThanOrEqual(majHead.height);
    // The final chain extends the majority's branch; the minority's branch is gone from it.
    for (const n of nodes) {
      expect(await canonicalHashAt(n, majHead.height)).toBe(majHead.hashHex);
      expect(await canonicalHashAt(n, minHead.height)).not.toBe(minHead.hashHex);
    }
    for (const [i, n] of minority.entries()) {
      expect(await metricValue(n, "cardio_reorgs_total")).toBeGreaterThan(reorgsBefore[i]!);
    }

    // The minority's still-valid transaction went back to its mempools and lands on the final chain;
    // its double spend is dropped for the majority's twin.
    const included = await waitFor(
      async () => {
        const where = await Promise.all(nodes.map((n) => n.chain.txInclusion(keepId)));
        const first = where[0];
        return first !== undefined && where.every((w) => w?.blockHash === first.blockHash)
          ? first
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: "the minority's transaction on the final chain" },
    );
    expect(included.blockHash).not.toBe(minBranchBlock);
    expect(included.height).toBeGreaterThan(splitHead);
    for (const n of nodes) {
      expect(await n.chain.txInclusion(spendAId)).toBeUndefined();
      expect(await n.chain.txInclusion(spendBId)).toBeDefined();
      expect(n.mempool.has(spendAId)).toBe(false);
    }
    await waitForSameHead(nodes);
    await waitForIdenticalChains(nodes);
    console.log(
      `partition: split at ${splitHead}, branches ${majHead.height} vs ${minHead.height}; one head ${healSlots} slots after the heal`,
    );
  }, 120_000);
});
