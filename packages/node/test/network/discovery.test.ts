import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { afterEach, describe, expect, it } from "vitest";
import type { Network } from "../../src/network/index.js";
import { networkPool, recordingLogger, uniqueChainId } from "./helpers.js";
import { waitFor } from "./waitFor.js";

const pool = networkPool();

afterEach(async () => {
  for (const network of await pool.stopAll()) expect(network.status).toBe("stopped");
});

const connected = (a: Network, b: Network) => a.peers().includes(b.peerId) && b.peers().includes(a.peerId);
const disconnected = (a: Network, b: Network) =>
  !a.peers().includes(b.peerId) && !b.peers().includes(a.peerId);

describe("discovery and connection control", () => {
  it("two nodes with mDNS only find each other and keep exactly one connection, dialled by the lower id", async () => {
    const chainId = uniqueChainId();
    const options = { chainId, mdns: true, mdnsIntervalMs: 500 };
    const a = await pool.start(options);
    const b = await pool.start(options);
    await waitFor(() => connected(a, b), { timeoutMs: 10_000, message: "mDNS peers connected" });
    const [low, high] = a.peerId < b.peerId ? [a, b] : [b, a];
    expect(low.connections(high.peerId).map((c) => c.direction)).toEqual(["outbound"]);
    expect(high.connections(low.peerId).map((c) => c.direction)).toEqual(["inbound"]);
    // Nodes of another chain on the same LAN stay apart: their mDNS service tag differs. Once the
    // two strangers found each other over mDNS, they had every chance to see a and b too.
    const otherChain = { chainId: uniqueChainId(), mdns: true, mdnsIntervalMs: 500 };
    const s1 = await pool.start(otherChain);
    const s2 = await pool.start(otherChain);
    await waitFor(() => connected(s1, s2), { timeoutMs: 10_000, message: "strangers met" });
    expect(s1.peers()).toEqual([s2.peerId]);
    expect(s2.peers()).toEqual([s1.peerId]);
    expect(low.connections()).toHaveLength(1);
    expect(high.connections()).toHaveLength(1);
  });

  it("keeps redialling a bootstrap peer that is down until it comes back, on the same key and port", async () => {
    const chainId = uniqueChainId();
    const key = await generateKeyPair("Ed25519");
    const a = await pool.start({ chainId, privateKey: key });
    const address = a.multiaddrs()[0]!;
    await a.stop();
    expect(a.status).toBe("stopped");

    const logger = recordingLogger();
    const b = await pool.start({
      chainId,
      bootstrap: [address],
      redial: { intervalMs: 100, maxBackoffMs: 200 },
      logger,
    });
    await waitFor(() => logger.entries.some((e) => e.msg === "dial failed; will retry"), {
      message: "a failed dial to the absent peer",
    });
    const port = address.split("/")[4];
    const again = await pool.start({ chainId, privateKey: key, listen: [`/ip4/127.0.0.1/tcp/${port}`] });
    expect(again.peerId).toBe(a.peerId);
    await waitFor(() => connected(again, b), { message: "bootstrap peer reconnected" });
  });

  it("denyPeer refuses connections both ways; allowing again lets them reconnect", async () => {
    const chainId = uniqueChainId();
    let blocked = false;
    let bId = "";
    const a = await pool.start({ chainId, denyPeer: (peer) => blocked && peer === bId });
    const connectsAtA: string[] = [];
    a.on("peer:connect", (peer) => connectsAtA.push(peer));
    const b = await pool.start({
      chainId,
      bootstrap: a.multiaddrs(),
      redial: { intervalMs: 100, maxBackoffMs: 200 },
    });
    bId = b.peerId;
    await waitFor(() => connected(a, b), { message: "initial connection" });

    blocked = true;
    await a.hangUp(b.peerId);
    await waitFor(() => disconnected(a, b), { message: "hung up" });
    connectsAtA.length = 0;
    // Outbound: a refuses before opening a socket.
    await expect(a.dial(b.multiaddrs()[0]!)).rejects.toThrow(/gater|denied/i);
    // Inbound: a refuses once the handshake names b. Noise's initiator finishes its handshake
    // first, so b's dial may resolve, but the connection dies at once and never exists at a.
    await b.dial(a.multiaddrs()[0]!).catch(() => "refused");
    await waitFor(() => b.connections(a.peerId).length === 0, { message: "b's connection to a closed" });
    expect(connectsAtA).toEqual([]);
    expect(a.connections(b.peerId)).toEqual([]);

    // b's keeper retries its bootstrap peer on its own once a lets it in.
    blocked = false;
    await waitFor(() => connected(a, b), { message: "reconnected after allowing" });
    expect(connectsAtA).toEqual([b.peerId]);
  });

  it("a throwing denyPeer refuses the connection", async () => {
    const chainId = uniqueChainId();
    const a = await pool.start({
      chainId,
      denyPeer: () => {
        throw new Error("policy broken");
      },
    });
    const b = await pool.start({ chainId });
    await b.dial(a.multiaddrs()[0]!).catch(() => "refused");
    await waitFor(() => b.connections(a.peerId).length === 0, { message: "b's connection to a closed" });
    expect(a.peers()).toEqual([]);
    await expect(a.dial(b.multiaddrs()[0]!)).rejects.toThrow();
  });

  it("emits peer:connect and peer:disconnect with peer id strings", async () => {
    const chainId = uniqueChainId();
    const a = await pool.start({ chainId });
    const b = await pool.start({ chainId });
    const events: string[] = [];
    a.on("peer:connect", (peer) => events.push(`connect ${peer}`));
    a.on("peer:disconnect", (peer) => events.push(`disconnect ${peer}`));
    a.on("peer:connect", () => {
      throw new Error("a broken listener must not break the others");
    });
    expect(await b.dial(a.multiaddrs()[0]!)).toBe(a.peerId);
    await waitFor(() => events.length === 1);
    await b.hangUp(a.peerId);
    await waitFor(() => events.length === 2);
    expect(events).toEqual([`connect ${b.peerId}`, `disconnect ${b.peerId}`]);
  });

  it("can be restarted, and serialises a stop issued while starting", async () => {
    const chainId = uniqueChainId();
    const a = await pool.create({ chainId });
    const starting = a.start();
    expect(a.status).toBe("starting");
    const stopping = a.stop();
    await Promise.all([starting, stopping]);
    expect(a.status).toBe("stopped");
    expect(a.multiaddrs()).toEqual([]);

    await a.start();
    await a.start(); // already started: no-op
    const b = await pool.start({ chainId });
    expect(await b.dial(a.multiaddrs()[0]!)).toBe(a.peerId);
    await a.stop();
    await a.stop(); // already stopped: no-op
    expect(a.status).toBe("stopped");
    await waitFor(() => b.peers().length === 0, { message: "b saw a leave" });
  });

  it("skips its own entry in a bootstrap list shared by all nodes", async () => {
    const chainId = uniqueChainId();
    const key = await generateKeyPair("Ed25519");
    const a = await pool.start({ chainId });
    const self = `/ip4/127.0.0.1/tcp/1/p2p/${peerIdFromPrivateKey(key).toString()}`;
    const logger = recordingLogger();
    const b = await pool.start({ chainId, privateKey: key, bootstrap: [self, a.multiaddrs()[0]!], logger });
    await waitFor(() => connected(a, b), { message: "b joined a" });
    expect(logger.entries.filter((e) => e.level !== "debug" && e.msg !== "network started")).toEqual([]);
  });
});
