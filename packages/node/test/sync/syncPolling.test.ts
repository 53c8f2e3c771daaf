import { type Block, createDevnet, encodeBlock } from "@cardio/core";
import { afterEach, describe, expect, it } from "vitest";
import { type Chain, type ChainNode, createChain } from "../../src/chain/chain.js";
import type { Logger } from "../../src/logger.js";
import { type Network, ReqRespError, ReqRespErrorCode } from "../../src/network/index.js";
import { createChainStore, createMemoryKvStore } from "../../src/storage/index.js";
import {
  decodeRangeRequest,
  decodeStatus,
  encodeBlockList,
  encodeStatus,
  type StatusMessage,
} from "../../src/sync/messages.js";
import { createSync, type Sync, SyncProtocol } from "../../src/sync/sync.js";
import { forgeWinner } from "../helpers/forgeWinner.js";
import { waitFor } from "../network/waitFor.js";

/** Status polling rates and how a slow peer is told from a lying one, on a scripted network. */

const { genesis, keys } = createDevnet({
  seed: "sync-polling",
  validators: 3,
  chainId: "sync-polling",
  genesisTime: Date.now() - 1000 * 60_000,
  slotMs: 1000,
});

const forge = (parent: ChainNode, slot: number): Block => forgeWinner(genesis, keys, parent, slot);

/** A chain of `n` blocks, built on a chain of its own (the peer's). */
async function peerChain(n: number): Promise<{ chain: Chain; blocks: Block[] }> {
  const store = createChainStore(createMemoryKvStore());
  await store.open();
  const chain = createChain({ genesis, store });
  await chain.start();
  const blocks: Block[] = [];
  for (let s = 1; s <= n; s++) {
    const b = forge(chain.head(), s);
    await chain.importBlock(b, "local");
    blocks.push(b);
  }
  return { chain, blocks };
}

type Answer = (name: string, payload: Uint8Array) => Promise<Uint8Array>;

/** A network of scripted peers: `answer` plays every peer; requests are recorded. */
function fakeNetwork(peerIds: string[], answer: Answer) {
  const listeners = new Map<string, Set<(peer: string) => void>>();
  const requests: Array<{ peer: string; name: string; at: number }> = [];
  const peers = [...peerIds];
  const net = {
    peers: () => [...peers],
    handle() {},
    unhandle() {},
    on(event: string, fn: (peer: string) => void) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(fn);
    },
    off(event: string, fn: (peer: string) => void) {
      listeners.get(event)?.delete(fn);
    },
    async hangUp() {},
    async request(peer: string, name: string, payload: Uint8Array) {
      requests.push({ peer, name, at: Date.now() });
      return answer(name, payload);
    },
  };
  return {
    network: net as unknown as Network,
    requests,
    connect(peer: string) {
      peers.push(peer);
      for (const fn of listeners.get("peer:connect") ?? []) fn(peer);
    },
  };
}

function recordingLogger() {
  const lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> = [];
  const at =
    (level: string) =>
    (obj: Record<string, unknown>, msg = "") =>
      lines.push({ level, msg, obj });
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { logger, lines, find: (text: string) => lines.filter((l) => l.msg.includes(text)) };
}

async function ourChain(): Promise<Chain> {
  const store = createChainStore(createMemoryKvStore());
  await store.open();
  const chain = createChain({ genesis, store });
  await chain.start();
  return chain;
}

const statusOf = (chain: Chain): StatusMessage => {
  const h = chain.head();
  return { genesisHash: chain.genesisHash, headHash: h.hash, height: h.height, slot: h.slot };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const statusPolls = (requests: Array<{ name: string }>) =>
  requests.filter((r) => r.name === SyncProtocol.status).length;

describe("sync status polling", () => {
  let sync: Sync | undefined;
  afterEach(async () => {
    await sync?.stop();
    sync = undefined;
  });

  it("polls every statusIntervalMs while a peer is ahead, and far less often once in step", async () => {
    const ours = await ourChain();
    const peer = await peerChain(0);
    const net = fakeNetwork(["A", "B"], async (name, payload) => {
      if (name === SyncProtocol.status) {
        decodeStatus(payload);
        return encodeStatus(statusOf(peer.chain));
      }
      throw new Error(`unexpected ${name}`);
    });
    sync = createSync({ chain: ours, network: net.network, statusIntervalMs: 40, verifyThreads: 0 });
    const t0 = performance.now();
    sync.start();
    // Both peers at genesis, like us: in step. The polls on start, perhaps one more round at the fast
    // rate before their answers are in, then at most one round per 5 × 40 ms − 20 % (jitter) = 160 ms
    // of the time that actually passed (a loaded machine stretches the sleep), where catching up
    // polls every 40 ms ± 20 %.
    await sleep(400);
    const inStep = statusPolls(net.requests);
    const elapsed = performance.now() - t0;
    expect(inStep).toBeGreaterThanOrEqual(2);
    expect(inStep).toBeLessThanOrEqual(2 * (2 + Math.ceil(elapsed / 160)));
    expect(inStep).toBeLessThan(2 * Math.floor(elapsed / 48));
    await sync.stop();
    sync = undefined;

    // A peer that is ahead (by more than one block) but serves nothing: polled at the fast rate.
    const ahead = await peerChain(3);
    const net2 = fakeNetwork(["A"], async (name) => {
      if (name === SyncProtocol.status) return encodeStatus(statusOf(ahead.chain));
      throw new ReqRespError(ReqRespErrorCode.REMOTE_ERROR, "no", { peerId: "A", protocol: name });
    });
    sync = createSync({
      chain: ours,
      network: net2.network,
      statusIntervalMs: 40,
      verifyThreads: 0,
      badPeerMs: 1,
    });
    sync.start();
    // Six rounds from one peer: 1 + 5 × 40 ms at the fast rate, where the in-step rate needs 800 ms.
    await waitFor(() => statusPolls(net2.requests) >= 6, { timeoutMs: 5_000, message: "6 status polls" });
  });

  it("polls a new connection at once, even while polling slowly", async () => {
    const ours = await ourChain();
    const peer = await peerChain(0);
    const net = fakeNetwork(["A"], async () => encodeStatus(statusOf(peer.chain)));
    sync = createSync({ chain: ours, network: net.network, statusIntervalMs: 1000, verifyThreads: 0 });
    sync.start();
    await waitFor(() => net.requests.length >= 1, { message: "the poll on start" });
    const before = net.requests.length;
    net.connect("C");
    await waitFor(() => net.requests.length > before, { message: "a poll of the new peer" });
    // The next round of the slow rate is 5 s away: the only request since is to C.
    expect(net.requests.slice(before).map((r) => r.peer)).toEqual(["C"]);
  });

  it("treats a peer without a status as a reason to keep polling fast", async () => {
    const ours = await ourChain();
    const net = fakeNetwork(["A"], async (name) => {
      throw new ReqRespError(ReqRespErrorCode.TIMEOUT, "no response", { peerId: "A", protocol: name });
    });
    sync = createSync({ chain: ours, network: net.network, statusIntervalMs: 40, verifyThreads: 0 });
    const t0 = performance.now();
    sync.start();
    await waitFor(() => statusPolls(net.requests) >= 6, { message: "6 status polls" });
    // At the in-step rate (200 ms ± 20 %) six rounds take at least 800 ms.
    expect(performance.now() - t0).toBeLessThan(800);
  });
});

describe("sync: slow peers are passed over, lying peers shunned", () => {
  let sync: Sync | undefined;
  afterEach(async () => {
    await sync?.stop();
    sync = undefined;
  });

  it("defers a peer whose range request timed out, with its own log line, and syncs from another", async () => {
    const ours = await ourChain();
    const peer = await peerChain(6);
    const log = recordingLogger();
    const net = fakeNetwork(["slow"], async (name) => {
      if (name === SyncProtocol.status) return encodeStatus(statusOf(peer.chain));
      throw new ReqRespError(ReqRespErrorCode.TIMEOUT, "no response within 5 ms", {
        peerId: "slow",
        protocol: name,
      });
    });
    sync = createSync({ chain: ours, network: net.network, logger: log.logger, verifyThreads: 0 });
    sync.start();
    await waitFor(() => log.find("timed out").length > 0, { message: "the timeout logged" });
    expect(log.find("timed out")).toHaveLength(1);
    expect(log.find("timed out")[0]!.obj).toMatchObject({ peer: "slow", timeoutsInARow: 1 });
    expect(log.find("shunning it")).toHaveLength(0);
    expect(ours.head().height).toBe(0);
  });

  it.each([
    [ReqRespErrorCode.DIAL_FAILED, "cannot connect", "deferred"],
    [ReqRespErrorCode.STREAM_ERROR, "cannot open stream", "deferred"],
    [ReqRespErrorCode.RATE_LIMITED, "rate limited", "deferred"],
    [ReqRespErrorCode.STREAM_ERROR, "stream ended before the response", "shunned"],
    [ReqRespErrorCode.MALFORMED, "empty response frame", "shunned"],
  ] as const)("a range request failing with %s (%s) gets its peer %s", async (code, message, outcome) => {
    const ours = await ourChain();
    const peer = await peerChain(6);
    const log = recordingLogger();
    const net = fakeNetwork(["p"], async (name) => {
      if (name === SyncProtocol.status) return encodeStatus(statusOf(peer.chain));
      throw new ReqRespError(code, message, { peerId: "p", protocol: name });
    });
    sync = createSync({ chain: ours, network: net.network, logger: log.logger, verifyThreads: 0 });
    sync.start();
    await waitFor(() => log.find("request to peer failed").length + log.find("shunning it").length > 0, {
      message: "the failure handled",
    });
    // A peer that restarted or was hung up has no stream to give: that is no proof of lying.
    expect(log.find("request to peer failed")).toHaveLength(outcome === "deferred" ? 1 : 0);
    expect(log.find("shunning it")).toHaveLength(outcome === "shunned" ? 1 : 0);
    expect(ours.head().height).toBe(0);
  });

  it("shuns a peer that serves invalid blocks, as before", async () => {
    const ours = await ourChain();
    const peer = await peerChain(6);
    const log = recordingLogger();
    const net = fakeNetwork(["liar"], async (name, payload) => {
      if (name === SyncProtocol.status) return encodeStatus(statusOf(peer.chain));
      const { start, count } = decodeRangeRequest(payload);
      const blocks = peer.blocks.slice(start - 1, start - 1 + count).map((b) => {
        const sig = b.header.signature.slice();
        sig[1]! ^= 1;
        return encodeBlock({ ...b, header: { ...b.header, signature: sig } });
      });
      return encodeBlockList(blocks);
    });
    sync = createSync({ chain: ours, network: net.network, logger: log.logger, verifyThreads: 1 });
    sync.start();
    await waitFor(() => log.find("shunning it").length > 0, { message: "the liar shunned" });
    expect(log.find("shunning it")).toHaveLength(1);
    expect(String(log.find("shunning it")[0]!.obj.reason)).toMatch(/signature/);
    expect(ours.head().height).toBe(0);
  });

  it("imports a range whose signatures the pool verified", async () => {
    const ours = await ourChain();
    const peer = await peerChain(40);
    const net = fakeNetwork(["good"], async (name, payload) => {
      if (name === SyncProtocol.status) return encodeStatus(statusOf(peer.chain));
      const { start, count } = decodeRangeRequest(payload);
      return encodeBlockList(peer.blocks.slice(start - 1, start - 1 + count).map(encodeBlock));
    });
    sync = createSync({ chain: ours, network: net.network, verifyThreads: 1 });
    sync.start();
    await waitFor(() => ours.head().height >= 40, { message: "synced to height 40" });
    expect(ours.head().hashHex).toBe(peer.chain.head().hashHex);
  });
});
