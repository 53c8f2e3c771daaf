import {
  addressFromPublicKey,
  buildBlock,
  encodeBlock,
  getAccount,
  lotteryWinner,
  offenceKey,
  signTx,
  toHex,
} from "@cardio/core";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { afterEach, describe, expect, it } from "vitest";
import { createNetwork, type Network } from "../packages/node/src/network/index.js";
import type { SlotEvent } from "../packages/node/src/nodeTypes.js";
import { type Cluster, chainOf, startCluster, waitForHeight } from "./helpers/cluster.js";
import { waitFor } from "./helpers/waitFor.js";

describe("equivocation on the network", () => {
  let cluster: Cluster | undefined;
  let rogue: Network | undefined;
  afterEach(async () => {
    await rogue?.stop();
    expect(rogue?.status ?? "stopped").toBe("stopped");
    rogue = undefined;
    await cluster?.stopAll();
    cluster = undefined;
  });

  it("a validator that signs two blocks for one slot is slashed once, identically on every node, and stops winning", async () => {
    // Validator 4 has no node: a test-only double signer forges for it, publishing two blocks per win.
    const stakes = [100n, 50n, 25n, 10n, 60n];
    cluster = await startCluster({ stakes, slotMs: 300, startNow: [0, 1, 2, 3] });
    const honest = cluster.running();
    const cheater = cluster.keys[4]!;
    const cheaterAddr = addressFromPublicKey(cheater.publicKey);
    const { genesis } = cluster;

    rogue = createNetwork({
      privateKey: await generateKeyPair("Ed25519"),
      chainId: genesis.chainId,
      mdns: false,
      bootstrap: honest.map((n) => n.multiaddrs()[0]!),
    });
    rogue.onMessage(rogue.topics.blocks, () => "ignore");
    await rogue.start();
    const net = rogue;
    await waitFor(() => net.meshPeers(net.topics.blocks).length >= 2, { what: "rogue in the blocks mesh" });

    // At the first slot the cheater wins on node 0's head, sign two different blocks and gossip both.
    let equivocatedSlot: number | undefined;
    const off = honest[0]!.events.on("slot", (e: SlotEvent) => {
      if (equivocatedSlot !== undefined || e.winner !== cheaterAddr) return;
      const head = honest[0]!.head();
      const parent = { hash: head.hash, height: head.height, slot: head.slot, state: head.state };
      const nonce = getAccount(head.state, cheater.publicKey).nonce;
      const a = buildBlock({ config: genesis, parent, slot: e.slot, key: cheater, candidates: [] });
      const bpm = signTx(
        { kind: "bpm", from: cheater.publicKey, nonce, fee: 0n, bpm: 61 },
        cheater,
        genesis.chainId,
      );
      const b = buildBlock({ config: genesis, parent, slot: e.slot, key: cheater, candidates: [bpm] });
      expect(toHex(a.hash)).not.toBe(toHex(b.hash));
      equivocatedSlot = e.slot;
      void net.publish(net.topics.blocks, encodeBlock(a.block));
      void net.publish(net.topics.blocks, encodeBlock(b.block));
    });
    await waitFor(() => equivocatedSlot !== undefined, {
      timeoutMs: 60_000,
      what: "the cheater to win a slot",
    });
    off();
    const slot = equivocatedSlot!;

    // Every honest node notices, the evidence lands, and the stake is gone on every node.
    const offence = offenceKey(cheater.publicKey, slot);
    await waitFor(() => honest.every((n) => n.head().state.offences.has(offence)), {
      timeoutMs: 30_000,
      what: "the offence recorded on every node",
    });
    for (const n of honest) {
      const acct = getAccount(n.head().state, cheater.publicKey);
      expect(acct.stake).toBe(0n);
      expect(acct.unbonding).toEqual([]);
    }
    const slashedAt = Math.max(...honest.map((n) => n.head().height));
    await waitForHeight(honest, slashedAt + 10, 60_000);

    // Exactly one evidence transaction for this offence on the final chain, and the same chain everywhere.
    const common = Math.min(...honest.map((n) => n.head().height)) - 1;
    const chains = await Promise.all(honest.map((n) => chainOf(n, common)));
    const ref = chains[0]!.map((b) => toHex(encodeBlock(b)));
    for (const c of chains.slice(1)) expect(c.map((b) => toHex(encodeBlock(b)))).toEqual(ref);
    const evidence = chains[0]!.flatMap((b) => b.txs).filter((t) => t.kind === "evidence");
    expect(evidence).toHaveLength(1);
    const ev = evidence[0]!;
    expect(ev.kind === "evidence" && ev.headerA.slot).toBe(slot);

    // Burned exactly the cheater's stake (60), once.
    expect(honest[0]!.head().state.burned).toBe(60n);
    // After the slashing block, the cheater never wins again.
    const slashedIndex = chains[0]!.findIndex((b) => b.txs.some((t) => t.kind === "evidence"));
    for (const b of chains[0]!.slice(slashedIndex + 1)) {
      expect(toHex(b.header.proposer)).not.toBe(toHex(cheater.publicKey));
    }
    const head = honest[0]!.head();
    for (let s = head.slot + 1; s < head.slot + 200; s++) {
      expect(lotteryWinner(head.state, head.hash, s, genesis.minStake)?.hex).not.toBe(
        toHex(cheater.publicKey),
      );
    }
  }, 150_000);
});
