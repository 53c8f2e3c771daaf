import { describe, expect, it } from "vitest";
import {
  createGossipWatchdog,
  type GossipWatchdogConfig,
  type GossipWatchdogHost,
  type HangUpReason,
} from "../../src/network/gossipWatchdog.js";

/** A scripted network: the watchdog's host interface over plain data (the real one is tested in test/gossipRecovery.test.ts). */
function scripted() {
  const state = {
    peers: new Map<string, { connectedForMs: number; problem?: string; score: number; speaks: boolean }>(),
    hungUp: [] as string[],
    reconnected: [] as string[],
  };
  const host: GossipWatchdogHost = {
    peers: () => [...state.peers].map(([peerId, p]) => ({ peerId, connectedForMs: p.connectedForMs })),
    gossipProblem: (id) => state.peers.get(id)?.problem,
    speaksGossip: async (id) => state.peers.get(id)?.speaks ?? false,
    score: (id) => state.peers.get(id)?.score ?? 0,
    async hangUp(id) {
      state.hungUp.push(id);
      state.peers.delete(id);
    },
    reconnect: (id) => state.reconnected.push(id),
  };
  return { state, host };
}

function watchdog(extra: Partial<GossipWatchdogConfig> = {}) {
  let now = 0;
  const counts: HangUpReason[] = [];
  const dog = createGossipWatchdog({
    graylistThreshold: -80,
    onHangUp: (reason) => counts.push(reason),
    now: () => now,
    intervalMs: 60_000, // checks are driven by the test
    ...extra,
  });
  return { dog, counts, advance: (ms: number) => (now += ms) };
}

describe("gossip watchdog", () => {
  it("hangs up a peer gossip is dead with only after the grace period and two failed checks, then reconnects", async () => {
    const { state, host } = scripted();
    const { dog, counts } = watchdog();
    dog.start(host);
    state.peers.set("young", { connectedForMs: 4_999, problem: "gone", score: 0, speaks: true });
    state.peers.set("dead", { connectedForMs: 5_000, problem: "gone", score: 0, speaks: true });
    state.peers.set("fine", { connectedForMs: 60_000, score: 5, speaks: true });
    state.peers.set("no-gossip", { connectedForMs: 60_000, problem: "gone", score: 0, speaks: false });
    await dog.check();
    expect(state.hungUp).toEqual([]); // one strike is not enough
    await dog.check();
    expect(state.hungUp).toEqual(["dead"]);
    expect(state.reconnected).toEqual(["dead"]);
    expect(counts).toEqual(["gossip_dead"]);
    expect(dog.isBanned("dead")).toBe(false);
    await dog.check();
    await dog.check();
    expect(state.hungUp).toEqual(["dead"]); // young, fine and a peer that does not speak gossipsub stay
    dog.stop();
  });

  it("forgets a strike when the peer recovers between checks", async () => {
    const { state, host } = scripted();
    const { dog } = watchdog();
    dog.start(host);
    const peer = { connectedForMs: 10_000, problem: "gone" as string | undefined, score: 0, speaks: true };
    state.peers.set("p", peer);
    await dog.check();
    peer.problem = undefined;
    await dog.check();
    peer.problem = "gone again";
    await dog.check();
    expect(state.hungUp).toEqual([]);
    await dog.check();
    expect(state.hungUp).toEqual(["p"]);
    dog.stop();
  });

  it("hangs up a peer graylisted at two checks in a row and refuses it for graylistBanMs", async () => {
    const { state, host } = scripted();
    const { dog, counts, advance } = watchdog({ graylistBanMs: 60_000 });
    dog.start(host);
    // Young connections are no excuse for a graylisted peer.
    state.peers.set("bad", { connectedForMs: 100, score: -180, speaks: true });
    // A one-off dip (gossipsub's behaviour penalty decays within a second) costs nothing.
    const dip = { connectedForMs: 100_000, score: -90, speaks: true };
    state.peers.set("dip", dip);
    await dog.check();
    dip.score = -1;
    await dog.check();
    expect(state.hungUp).toEqual(["bad"]);
    expect(state.reconnected).toEqual([]);
    expect(counts).toEqual(["graylisted"]);
    expect(dog.isBanned("bad")).toBe(true);
    expect(dog.isBanned("dip")).toBe(false);
    advance(59_999);
    expect(dog.isBanned("bad")).toBe(true);
    advance(1);
    expect(dog.isBanned("bad")).toBe(false);
    dog.stop();
  });

  it("can leave graylisted peers alone, or hang them up without a ban", async () => {
    for (const [options, hungUp, banned] of [
      [{ disconnectGraylisted: false }, [], false],
      [{ graylistBanMs: 0 }, ["bad"], false],
    ] as const) {
      const { state, host } = scripted();
      const { dog } = watchdog(options);
      dog.start(host);
      state.peers.set("bad", { connectedForMs: 100_000, score: -1_000, speaks: true });
      await dog.check();
      await dog.check();
      expect(state.hungUp).toEqual(hungUp);
      expect(dog.isBanned("bad")).toBe(banned);
      dog.stop();
    }
  });

  it("ban() hangs a peer up at once and refuses it for dropFloodBanMs", async () => {
    const { state, host } = scripted();
    const { dog, counts, advance } = watchdog({ dropFloodBanMs: 30_000 });
    dog.start(host);
    state.peers.set("flooder", { connectedForMs: 100, score: 0, speaks: true });
    await dog.ban("flooder", "drop_flood");
    expect(state.hungUp).toEqual(["flooder"]);
    expect(state.reconnected).toEqual([]);
    expect(counts).toEqual(["drop_flood"]);
    expect(dog.isBanned("flooder")).toBe(true);
    advance(29_999);
    expect(dog.isBanned("flooder")).toBe(true);
    advance(1);
    expect(dog.isBanned("flooder")).toBe(false);
    dog.stop();
    // Stopped: the ban is noted (the network may refuse the peer on its next start) but nobody is hung up.
    await dog.ban("other", "drop_flood");
    expect(state.hungUp).toEqual(["flooder"]);
    expect(() => createGossipWatchdog({ graylistThreshold: -80, dropFloodBanMs: -1 })).toThrow(RangeError);
  });

  it("does nothing when stopped, and rejects nonsensical settings", async () => {
    const { state, host } = scripted();
    const { dog } = watchdog();
    state.peers.set("dead", { connectedForMs: 10_000, problem: "gone", score: -1_000, speaks: true });
    await dog.check();
    dog.start(host);
    dog.stop();
    await dog.check();
    await dog.check();
    expect(state.hungUp).toEqual([]);
    expect(() => createGossipWatchdog({ graylistThreshold: -80, intervalMs: 0 })).toThrow(RangeError);
    expect(() => createGossipWatchdog({ graylistThreshold: -80, strikes: 0 })).toThrow(RangeError);
    expect(() => createGossipWatchdog({ graylistThreshold: -80, graylistBanMs: -1 })).toThrow(RangeError);
  });
});
