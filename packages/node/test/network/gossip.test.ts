import { afterEach, describe, expect, it } from "vitest";
import type { Network, Verdict } from "../../src/network/index.js";
import { networkPool, recordingLogger, uniqueChainId } from "./helpers.js";
import { waitFor } from "./waitFor.js";

const pool = networkPool();
const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

afterEach(async () => {
  for (const network of await pool.stopAll()) expect(network.status).toBe("stopped");
});

/** A handler that records what it saw and answers with `verdict(data)`. */
function recorder(verdict: (data: string) => Verdict | Promise<Verdict> = () => "accept") {
  const seen: Array<{ data: string; from: string }> = [];
  const handler = (data: Uint8Array, from: string) => {
    seen.push({ data: str(data), from });
    return verdict(str(data));
  };
  return { seen, handler, count: (data: string) => seen.filter((m) => m.data === data).length };
}

/** A line A - B - C (no A - C link), every node subscribed to the blocks topic. */
async function line(
  chainId: string,
  handlers: Array<ReturnType<typeof recorder>>,
  extra: { maxMessageBytes?: number[] } = {},
) {
  const nodes: Network[] = [];
  for (let i = 0; i < 3; i++) {
    const network = await pool.start({ chainId, maxMessageBytes: extra.maxMessageBytes?.[i] });
    network.onMessage(network.topics.blocks, handlers[i]!.handler);
    nodes.push(network);
  }
  const [a, b, c] = nodes as [Network, Network, Network];
  await a.dial(b.multiaddrs()[0]!);
  await c.dial(b.multiaddrs()[0]!);
  const topic = a.topics.blocks;
  await waitFor(
    () =>
      a.meshPeers(topic).length === 1 && b.meshPeers(topic).length === 2 && c.meshPeers(topic).length === 1,
    {
      message: "line mesh",
    },
  );
  expect(a.peers()).not.toContain(c.peerId);
  return { a, b, c, topic };
}

describe("gossip", () => {
  it("5 nodes joined through bootstrap lists form a mesh and deliver a message to every other node exactly once", async () => {
    const chainId = uniqueChainId();
    const nodes: Network[] = [];
    const recorders = Array.from({ length: 5 }, () => recorder());
    for (let i = 0; i < 5; i++) {
      // Each node knows only the nodes started before it.
      const network = await pool.start({ chainId, bootstrap: nodes.map((n) => n.multiaddrs()[0]!) });
      network.onMessage(network.topics.blocks, recorders[i]!.handler);
      nodes.push(network);
    }
    const topic = nodes[0]!.topics.blocks;
    await waitFor(() => nodes.every((n) => n.peers().length === 4), { message: "full connectivity" });
    await waitFor(() => nodes.every((n) => n.meshPeers(topic).length === 4), {
      message: "mesh of 4 peers each",
    });

    const sent = await nodes[0]!.publish(topic, text("block-1"));
    expect(sent).toBe(4);
    await waitFor(() => recorders.slice(1).every((r) => r.count("block-1") === 1), {
      message: "block-1 everywhere",
    });

    // A second message from another node is the barrier: once it arrived everywhere, any duplicate
    // of the first one, relayed along the same meshes, would have arrived too.
    await nodes[3]!.publish(topic, text("block-2"));
    await waitFor(() => recorders.every((r, i) => i === 3 || r.count("block-2") === 1), {
      message: "block-2",
    });
    for (const [i, r] of recorders.entries()) expect(r.count("block-1")).toBe(i === 0 ? 0 : 1);
  });

  it("a lone node publishes to zero peers without throwing", async () => {
    const network = await pool.start({ chainId: uniqueChainId() });
    await expect(network.publish(network.topics.txs, text("tx"))).resolves.toBe(0);
    // Publishing the same bytes again is a duplicate for gossipsub; still no error.
    await expect(network.publish(network.topics.txs, text("tx"))).resolves.toBe(0);
  });

  it("a 'reject' verdict stops forwarding and penalises the sender", async () => {
    const handlers = [recorder(), recorder((d) => (d.startsWith("bad") ? "reject" : "accept")), recorder()];
    const { a, b, topic } = await line(uniqueChainId(), handlers);

    await a.publish(topic, text("bad-block"));
    await waitFor(() => handlers[1]!.count("bad-block") === 1, { message: "B judged the bad block" });
    await a.publish(topic, text("good-block"));
    await waitFor(() => handlers[2]!.count("good-block") === 1, { message: "C got the good block" });
    expect(handlers[2]!.count("bad-block")).toBe(0);
    await waitFor(() => b.gossipScore(a.peerId) < 0, { message: "A penalised at B" });
  });

  it("an 'ignore' verdict stops forwarding without penalty", async () => {
    const handlers = [recorder(), recorder((d) => (d.startsWith("early") ? "ignore" : "accept")), recorder()];
    const { a, b, topic } = await line(uniqueChainId(), handlers);

    await a.publish(topic, text("early-block"));
    await a.publish(topic, text("good-block"));
    await waitFor(() => handlers[2]!.count("good-block") === 1, { message: "C got the good block" });
    expect(handlers[1]!.count("early-block")).toBe(1);
    expect(handlers[2]!.count("early-block")).toBe(0);
    expect(b.gossipScore(a.peerId)).toBeGreaterThanOrEqual(0);
  });

  it("a peer past a topic's drop budget (IGNOREs) is hung up, refused, and its backlog dropped unjudged", async () => {
    const chainId = uniqueChainId();
    const logger = recordingLogger();
    const b = await pool.start({ chainId, logger, watchdog: { dropFloodBanMs: 60_000 } });
    const judged: string[] = [];
    b.onMessage(
      b.topics.blocks,
      (data) => {
        judged.push(str(data));
        return str(data).startsWith("orphan") ? "ignore" : "accept";
      },
      { dropBudget: { burst: 10, perSecond: 1 } },
    );
    // An honest peer's IGNOREs within the budget cost it nothing.
    const honest = await pool.start({ chainId });
    honest.onMessage(honest.topics.blocks, () => "accept");
    await honest.dial(b.multiaddrs()[0]!);
    const flooder = await pool.start({ chainId });
    flooder.onMessage(flooder.topics.blocks, () => "accept");
    await flooder.dial(b.multiaddrs()[0]!);
    const topic = b.topics.blocks;
    await waitFor(
      () => honest.subscribers(topic).includes(b.peerId) && flooder.subscribers(topic).includes(b.peerId),
      { message: "both subscribed at b" },
    );
    for (let i = 0; i < 8; i++) await honest.publish(topic, text(`orphan-honest-${i}`));
    await Promise.all(Array.from({ length: 300 }, (_, i) => flooder.publish(topic, text(`orphan-${i}`))));
    await waitFor(() => !b.peers().includes(flooder.peerId), { message: "flooder hung up" });
    await waitFor(() => judged.filter((d) => d.startsWith("orphan-honest")).length === 8, {
      message: "honest orphans judged",
    });
    // The budget (10) plus whatever was in flight when the verdict came: far fewer than were sent.
    const flooded = judged.filter((d) => /^orphan-\d/.test(d)).length;
    expect(flooded).toBeGreaterThanOrEqual(11);
    expect(flooded).toBeLessThan(300);
    expect(logger.entries.some((e) => e.msg?.includes("more dropped gossip than its budget"))).toBe(true);
    // Refused on redial (the dialler may see its side open before b's gater closes it), while the
    // honest peer stays and its messages still get through.
    await flooder.dial(b.multiaddrs()[0]!).then(
      () => waitFor(() => !b.peers().includes(flooder.peerId), { message: "the redial refused" }),
      () => undefined,
    );
    expect(b.peers()).not.toContain(flooder.peerId);
    expect(b.peers()).toContain(honest.peerId);
    await honest.publish(topic, text("good-block"));
    await waitFor(() => judged.includes("good-block"), { message: "honest block judged" });
  });

  it("a REJECT draws rejectCost tokens: a peer relaying invalid messages is cut off after burst / rejectCost", async () => {
    const chainId = uniqueChainId();
    const b = await pool.start({ chainId });
    const judged: string[] = [];
    b.onMessage(
      b.topics.txs,
      (data) => {
        judged.push(str(data));
        return "reject";
      },
      { dropBudget: { burst: 40, perSecond: 0.001, rejectCost: 10 } },
    );
    const a = await pool.start({ chainId });
    a.onMessage(a.topics.txs, () => "accept");
    await a.dial(b.multiaddrs()[0]!);
    await waitFor(() => a.subscribers(a.topics.txs).includes(b.peerId), { message: "b subscribed at a" });
    // One at a time, so the count is exact: 4 REJECTs fit in a budget of 40 at 10 each; the 5th overdraws.
    for (let i = 0; i < 4; i++) {
      await a.publish(a.topics.txs, text(`bad-${i}`));
      await waitFor(() => judged.length === i + 1, { message: `bad-${i} judged` });
    }
    expect(b.peers()).toContain(a.peerId);
    await a.publish(a.topics.txs, text("bad-4"));
    await waitFor(() => !b.peers().includes(a.peerId), { message: "a hung up after its 5th REJECT" });
    expect(judged).toHaveLength(5);
    expect(() =>
      b.onMessage("other", () => "accept", { dropBudget: { burst: 1, perSecond: 1, rejectCost: -1 } }),
    ).toThrow(RangeError);
  });

  it("a message over maxMessageBytes is dropped before the handler and never forwarded", async () => {
    const handlers = [recorder(), recorder(), recorder()];
    // A may send up to 64 KiB; B and C accept at most 1 KiB.
    const { a, b, topic } = await line(uniqueChainId(), handlers, {
      maxMessageBytes: [64 * 1024, 1024, 1024],
    });

    await a.publish(topic, text(`big-${"x".repeat(4096)}`));
    await a.publish(topic, text("small"));
    await waitFor(() => handlers[2]!.count("small") === 1, { message: "small message at C" });
    expect(handlers[1]!.seen.map((m) => m.data)).toEqual(["small"]);
    expect(handlers[2]!.seen.map((m) => m.data)).toEqual(["small"]);
    await waitFor(() => b.gossipScore(a.peerId) < 0, { message: "A penalised at B" });
    // Publishing something no peer would accept is a local bug, reported at once.
    await expect(b.publish(topic, new Uint8Array(2048))).rejects.toThrow(RangeError);
  });

  it("a handler that throws counts as reject, is logged, and the node keeps working", async () => {
    const logger = recordingLogger();
    const chainId = uniqueChainId();
    const a = await pool.start({ chainId });
    const b = await pool.start({ chainId, logger });
    const received: string[] = [];
    a.onMessage(a.topics.txs, () => "accept");
    b.onMessage(b.topics.txs, (data) => {
      if (str(data) === "boom") throw new Error("handler exploded");
      received.push(str(data));
      return "accept";
    });
    await a.dial(b.multiaddrs()[0]!);
    await waitFor(() => a.meshPeers(a.topics.txs).length === 1 && b.meshPeers(b.topics.txs).length === 1);

    await a.publish(a.topics.txs, text("boom"));
    await a.publish(a.topics.txs, text("after"));
    await waitFor(() => received.includes("after"), { message: "message after the throw" });
    expect(b.status).toBe("started");
    expect(logger.entries.some((e) => e.level === "error" && e.msg?.includes("threw"))).toBe(true);
    await waitFor(() => b.gossipScore(a.peerId) < 0, { message: "A penalised at B" });
  });

  it("handlers and subscriptions registered before start take effect on start", async () => {
    const chainId = uniqueChainId();
    const early = recorder();
    const a = await pool.start({ chainId });
    const b = await pool.create({ chainId, bootstrap: a.multiaddrs() });
    b.onMessage(b.topics.blocks, early.handler);
    expect(b.status).toBe("stopped");
    await b.start();
    a.onMessage(a.topics.blocks, () => "accept");
    await waitFor(() => a.meshPeers(a.topics.blocks).includes(b.peerId), { message: "b in a's mesh" });
    await a.publish(a.topics.blocks, text("hello"));
    await waitFor(() => early.count("hello") === 1, { message: "hello at b" });
  });
});
