/**
 * Gossip comes back after gossipsub loses a peer whose connection stays up (issue #7, reliability.md §4
 * item 1).
 *
 * `@chainsafe/libp2p-gossipsub` 14 treats an error on a peer's inbound gossip stream as a disconnection
 * (`handlePeerReadStreamError` → `removePeer`) and adds the peer back only on a new connection. Here
 * the error is caused for real, over the wire: the sender allows bigger gossip messages than the
 * receiver and publishes one over the receiver's RPC cap (`maxInboundDataLength` in gossip.ts), which
 * kills the receiver's inbound gossip stream from that peer while the libp2p connection stays open —
 * the state a packet-dropping partition leaves behind. The network's watchdog must notice and hang
 * up, so the peer is redialled and gossipsub opens fresh streams.
 */
import { randomBytes } from "node:crypto";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { createNetwork, type Network, type NetworkOptions } from "../packages/node/src/network/index.js";
import { waitFor } from "./helpers/waitFor.js";

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

/** `cardio_network_watchdog_hangups_total{reason}` of a registry. */
async function hangUps(registry: Registry, reason: string): Promise<number> {
  const metric = registry.getSingleMetric("cardio_network_watchdog_hangups_total");
  if (metric === undefined) throw new Error("cardio_network_watchdog_hangups_total is not registered");
  const { values } = await metric.get();
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe("gossip recovery", () => {
  const started: Network[] = [];
  afterEach(async () => {
    await Promise.all(started.map((n) => n.stop()));
    for (const n of started.splice(0)) expect(n.status).toBe("stopped");
  });

  async function start(options: Omit<NetworkOptions, "privateKey">): Promise<Network> {
    const network = createNetwork({ privateKey: await generateKeyPair("Ed25519"), mdns: false, ...options });
    started.push(network);
    await network.start();
    return network;
  }

  /** Subscribes to the blocks topic and records what arrives. */
  function listen(network: Network): Set<string> {
    const seen = new Set<string>();
    network.onMessage(network.topics.blocks, (data) => {
      if (data.byteLength < 1024) seen.add(str(data));
      return "accept";
    });
    return seen;
  }

  /** Publishes fresh messages from `from` until one reaches `to` (a message published before the mesh repairs is lost). */
  async function gossipFlows(
    from: Network,
    to: Set<string>,
    label: string,
    timeoutMs: number,
  ): Promise<void> {
    let n = 0;
    let last = 0;
    await waitFor(
      async () => {
        if (Date.now() - last >= 250) {
          last = Date.now();
          await from.publish(from.topics.blocks, text(`${label}-${n++}`));
        }
        return [...to].some((m) => m.startsWith(`${label}-`));
      },
      { timeoutMs, what: () => `gossip ${label} to flow again (${n} published)` },
    );
  }

  it("a peer whose gossip stream died while its connection stayed up is hung up, redialled, and gossips again", async () => {
    const chainId = `test-${randomBytes(6).toString("hex")}`;
    const regA = new Registry();
    const regB = new Registry();
    // Default watchdog settings: a check every 2 s, connections younger than 5 s left alone, two failed
    // checks in a row before the hang-up.
    const a = await start({ chainId, metricsRegistry: regA });
    const seenA = listen(a);
    // b keeps a (bootstrap), so its peer keeper redials a after the hang-up. It accepts bigger gossip
    // messages than a, so it can send one that a's gossipsub refuses at the stream level.
    const b = await start({
      chainId,
      bootstrap: a.multiaddrs().slice(0, 1),
      maxMessageBytes: 8 * 1024 * 1024,
      metricsRegistry: regB,
    });
    const seenB = listen(b);
    const topic = a.topics.blocks;
    await waitFor(() => a.meshPeers(topic).includes(b.peerId) && b.meshPeers(topic).includes(a.peerId), {
      timeoutMs: 15_000,
      what: "a and b in each other's mesh",
    });
    await gossipFlows(a, seenB, "before-ab", 10_000);
    await gossipFlows(b, seenA, "before-ba", 10_000);
    expect(await hangUps(regA, "gossip_dead")).toBe(0);
    expect(await hangUps(regB, "gossip_dead")).toBe(0);

    // 5 MiB: over a's 4 MiB RPC cap, so a's gossipsub gets a read error on b's stream and drops b.
    const oversized = new Uint8Array(5 * 1024 * 1024);
    oversized.set(randomBytes(64));
    await b.publish(topic, oversized);
    // The defect's state: a and b still connected, but a's gossipsub no longer knows b.
    await waitFor(() => !a.subscribers(topic).includes(b.peerId) && a.peers().includes(b.peerId), {
      timeoutMs: 10_000,
      what: "a's gossipsub to drop b while the connection stays",
    });

    // Gossip flows again both ways, well within the watchdog's grace, strikes and a redial.
    await gossipFlows(a, seenB, "after-ab", 30_000);
    await gossipFlows(b, seenA, "after-ba", 30_000);
    // Through a hang-up by the watchdog (on either side), not by luck.
    expect(
      (await hangUps(regA, "gossip_dead")) + (await hangUps(regB, "gossip_dead")),
    ).toBeGreaterThanOrEqual(1);
    expect(await hangUps(regA, "graylisted")).toBe(0);
    expect(await hangUps(regB, "graylisted")).toBe(0);
    expect(a.peers()).toContain(b.peerId);
    expect(b.peers()).toContain(a.peerId);
    expect(a.subscribers(topic)).toContain(b.peerId);
  }, 90_000);

  it("a peer nobody keeps (dialled by hand) is dialled again after the hang-up", async () => {
    const chainId = `test-${randomBytes(6).toString("hex")}`;
    const regA = new Registry();
    const regB = new Registry();
    const a = await start({ chainId, metricsRegistry: regA, maxMessageBytes: 8 * 1024 * 1024 });
    const seenA = listen(a);
    const b = await start({ chainId, metricsRegistry: regB });
    const seenB = listen(b);
    // No bootstrap list, no mDNS: neither peer keeper knows the other.
    await a.dial(b.multiaddrs()[0]!);
    const topic = a.topics.blocks;
    await waitFor(() => a.meshPeers(topic).includes(b.peerId) && b.meshPeers(topic).includes(a.peerId), {
      timeoutMs: 15_000,
      what: "a and b in each other's mesh",
    });
    await gossipFlows(a, seenB, "before-ab", 10_000);

    // This time the dialler (a) kills the stream of the peer it dialled (b drops a).
    const oversized = new Uint8Array(5 * 1024 * 1024);
    oversized.set(randomBytes(64));
    await a.publish(topic, oversized);
    await waitFor(() => !b.subscribers(topic).includes(a.peerId) && b.peers().includes(a.peerId), {
      timeoutMs: 10_000,
      what: "b's gossipsub to drop a while the connection stays",
    });

    await gossipFlows(a, seenB, "after-ab", 30_000);
    await gossipFlows(b, seenA, "after-ba", 30_000);
    expect(
      (await hangUps(regA, "gossip_dead")) + (await hangUps(regB, "gossip_dead")),
    ).toBeGreaterThanOrEqual(1);
    expect(a.peers()).toContain(b.peerId);
  }, 90_000);
});
