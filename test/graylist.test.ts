/**
 * A peer gossipsub graylists (its score below the graylist threshold, −80 in gossipScore.ts) is hung up
 * by the network's watchdog and refused for a while (issue #7), instead of staying connected with all
 * it sends ignored. The honest side is a real node: its block validator rejects the garbage.
 */
import { randomBytes } from "node:crypto";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { afterEach, describe, expect, it } from "vitest";
import type { CardioNode } from "../packages/node/src/index.js";
import { createNetwork, type Network } from "../packages/node/src/network/index.js";
import { type Cluster, startCluster } from "./helpers/cluster.js";
import { waitFor } from "./helpers/waitFor.js";

async function metric(node: CardioNode, name: string, labels: Record<string, string>): Promise<number> {
  const m = node.metrics.getSingleMetric(name);
  if (m === undefined) throw new Error(`${name} is not registered`);
  const { values } = await m.get();
  return values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))?.value ?? 0;
}

describe("graylisted peers", () => {
  let cluster: Cluster | undefined;
  const nets: Network[] = [];
  afterEach(async () => {
    await Promise.all(nets.map((n) => n.stop()));
    for (const n of nets.splice(0)) expect(n.status).toBe("stopped");
    await cluster?.stopAll();
    cluster = undefined;
  });

  it("a peer publishing invalid blocks is disconnected and kept out, while an honest peer stays", async () => {
    cluster = await startCluster({ stakes: [100n], slotMs: 250 });
    const node = cluster.running()[0]!;
    const chainId = cluster.genesis.chainId;
    const bootstrap = node.multiaddrs().slice(0, 1);
    const join = async (onBlock: () => void = () => {}): Promise<Network> => {
      const net = createNetwork({
        privateKey: await generateKeyPair("Ed25519"),
        chainId,
        bootstrap,
        mdns: false,
      });
      nets.push(net);
      net.onMessage(net.topics.blocks, () => {
        onBlock();
        return "ignore";
      });
      await net.start();
      return net;
    };
    let honestBlocks = 0;
    const honest = await join(() => honestBlocks++);
    const bad = await join();
    const topic = bad.topics.blocks;
    for (const net of [honest, bad]) {
      await waitFor(() => net.meshPeers(topic).includes(node.peerId), {
        timeoutMs: 15_000,
        what: "the node in each peer's mesh",
      });
    }
    expect(node.peers()).toEqual(expect.arrayContaining([honest.peerId, bad.peerId]));
    const before = await metric(node, "cardio_gossip_messages_total", { topic: "blocks", verdict: "reject" });

    // Random bytes do not decode as a block: REJECT, −20 × (invalid count)² each (gossipScore.ts), so the
    // third one takes the sender to −180, below the graylist threshold of −80.
    for (let i = 0; i < 4; i++) {
      expect(await bad.publish(topic, new Uint8Array(randomBytes(300)))).toBeGreaterThanOrEqual(1);
    }
    await waitFor(
      async () =>
        (await metric(node, "cardio_gossip_messages_total", { topic: "blocks", verdict: "reject" })) >=
        before + 3,
      { timeoutMs: 10_000, what: "the node to reject the bad peer's blocks" },
    );

    // Hung up within a few watchdog checks (2 s apart, two in a row)…
    await waitFor(() => !node.peers().includes(bad.peerId) && !bad.peers().includes(node.peerId), {
      timeoutMs: 15_000,
      what: () => `the node to hang up the graylisted peer (node's peers: ${node.peers().length})`,
    });
    expect(await metric(node, "cardio_network_watchdog_hangups_total", { reason: "graylisted" })).toBe(1);
    expect(await metric(node, "cardio_network_watchdog_hangups_total", { reason: "gossip_dead" })).toBe(0);

    // …and refused when it dials again (its peer keeper keeps trying too: it keeps the node as a
    // bootstrap peer), for a while (60 s by default).
    for (let i = 0; i < 3; i++) {
      await bad.dial(node.multiaddrs()[0]!).then(
        () =>
          waitFor(() => !node.peers().includes(bad.peerId), { timeoutMs: 5_000, what: "the redial refused" }),
        () => undefined,
      );
    }
    expect(node.peers()).not.toContain(bad.peerId);

    // The honest peer was never touched, and still gets the node's blocks.
    expect(node.peers()).toContain(honest.peerId);
    const received = honestBlocks;
    await waitFor(() => honestBlocks >= received + 2, {
      timeoutMs: 10_000,
      what: "the honest peer to receive the node's next blocks",
    });
    expect(honest.peers()).toContain(node.peerId);
    expect(await metric(node, "cardio_network_watchdog_hangups_total", { reason: "graylisted" })).toBe(1);
  }, 90_000);
});
