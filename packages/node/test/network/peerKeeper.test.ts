import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createPeerKeeper, type PeerKeeper } from "../../src/network/peerKeeper.js";

// Peer ids only need a consistent order here: the keeper compares them as strings.
const LOW = "peer-a";
const SELF = "peer-m";
const HIGH = "peer-z";
const PORTS: Record<string, number> = { [LOW]: 4001, [HIGH]: 4002 };
const addr = (id: string): Multiaddr[] => [multiaddr(`/ip4/127.0.0.1/tcp/${PORTS[id]}`)];
const peerOf = (addrs: Multiaddr[]) => (addrs[0]!.toOptions().port === 4001 ? LOW : HIGH);

/** A fake libp2p: records dials, and connects or fails them on demand. */
function fakeHost(keeper: () => PeerKeeper) {
  const dials: string[] = [];
  const connected = new Set<string>();
  let fail = false;
  return {
    dials,
    connected,
    failDials(value: boolean) {
      fail = value;
    },
    host: {
      dial: async (addrs: Multiaddr[]) => {
        const id = peerOf(addrs);
        dials.push(id);
        if (fail) throw new Error("connection refused");
        connected.add(id);
        keeper().connected(id);
      },
      isConnected: (id: string) => connected.has(id),
    },
  };
}

describe("peer keeper", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup(options: { quickDropMs?: number } = {}) {
    let keeper!: PeerKeeper;
    const fake = fakeHost(() => keeper);
    keeper = createPeerKeeper({
      selfId: SELF,
      redialIntervalMs: 1_000,
      maxBackoffMs: 8_000,
      tieBreakDelayMs: 1_500,
      quickDropMs: options.quickDropMs,
    });
    keeper.start(fake.host);
    return { keeper, ...fake };
  }

  it("dials an mDNS peer with a higher id at once", async () => {
    const { keeper, dials } = setup();
    keeper.want(HIGH, addr(HIGH), "mdns");
    await vi.advanceTimersByTimeAsync(0);
    expect(dials).toEqual([HIGH]);
    keeper.stop();
  });

  it("leaves a lower mDNS peer to dial, and dials it itself only after the tie-break delay", async () => {
    const { keeper, dials } = setup();
    keeper.want(LOW, addr(LOW), "mdns");
    await vi.advanceTimersByTimeAsync(1_400);
    expect(dials).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(dials).toEqual([LOW]);
    keeper.stop();
  });

  it("does not dial a lower mDNS peer that connected to us in time", async () => {
    const { keeper, dials, connected } = setup();
    keeper.want(LOW, addr(LOW), "mdns");
    await vi.advanceTimersByTimeAsync(500);
    connected.add(LOW);
    keeper.connected(LOW);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(dials).toEqual([]);
    keeper.stop();
  });

  it("dials bootstrap peers at once whatever their id, and retries with capped exponential backoff", async () => {
    const { keeper, dials, failDials } = setup();
    failDials(true);
    keeper.want(LOW, addr(LOW), "bootstrap");
    await vi.advanceTimersByTimeAsync(0);
    expect(dials.length).toBe(1);
    // Backoffs 1 s, 2 s, 4 s, 8 s, 8 s: attempts at ~1, 3, 7, 15, 23 s (checked on 1 s ticks).
    await vi.advanceTimersByTimeAsync(24_500);
    expect(dials.length).toBe(6);
    failDials(false);
    await vi.advanceTimersByTimeAsync(9_000);
    expect(dials.length).toBe(7);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(dials.length).toBe(7);
    keeper.stop();
  });

  it("treats a connection dropped right after opening as a failure, so a refusing peer is not hammered", async () => {
    const { keeper, dials, connected } = setup({ quickDropMs: 1_000 });
    keeper.want(HIGH, addr(HIGH), "bootstrap");
    for (let i = 0; i < 4; i++) {
      await vi.advanceTimersByTimeAsync(0);
      connected.clear();
      keeper.disconnected(HIGH);
      await vi.advanceTimersByTimeAsync(1_000 * 2 ** i + 1_000);
    }
    // Without the quick-drop rule this would be one dial per 1 s tick (~19).
    expect(dials.length).toBeLessThanOrEqual(5);
    keeper.stop();
  });

  it("redials a kept peer that was hung up after a lasting connection, and tells which peers it keeps", async () => {
    const { keeper, dials, connected } = setup();
    expect(keeper.keeps(HIGH)).toBe(false);
    keeper.want(HIGH, addr(HIGH), "bootstrap");
    expect(keeper.keeps(HIGH)).toBe(true);
    expect(keeper.keeps(LOW)).toBe(false);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(dials).toEqual([HIGH]);
    // The network's watchdog hangs it up (dead gossip): redialled on the next tick, not after a backoff.
    connected.clear();
    keeper.disconnected(HIGH);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(dials).toEqual([HIGH, HIGH]);
    keeper.stop();
  });

  it("stops dialling when stopped", async () => {
    const { keeper, dials, failDials } = setup();
    failDials(true);
    keeper.want(HIGH, addr(HIGH), "bootstrap");
    await vi.advanceTimersByTimeAsync(0);
    keeper.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(dials.length).toBe(1);
  });
});
