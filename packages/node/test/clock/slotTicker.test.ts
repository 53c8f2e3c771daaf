import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createSlotTicker } from "../../src/clock/slotTicker.js";

const config = { genesisTime: 1_000_000, slotMs: 500 };

describe("createSlotTicker", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function ticker(now: () => number) {
    const fired: { slot: number; lateMs: number }[] = [];
    const skipped: [number, number][] = [];
    const t = createSlotTicker({
      config,
      now,
      onSlot: (slot, lateMs) => fired.push({ slot, lateMs }),
      onSkipped: (from, to) => skipped.push([from, to]),
    });
    return { t, fired, skipped };
  }

  it("fires once at the start of each slot, on time", () => {
    vi.setSystemTime(config.genesisTime + 3 * 500 + 120);
    const { t, fired, skipped } = ticker(Date.now);
    t.start();
    vi.advanceTimersByTime(4 * 500);
    t.stop();
    expect(fired).toEqual([4, 5, 6, 7].map((slot) => ({ slot, lateMs: 0 })));
    expect(skipped).toEqual([]);
    vi.advanceTimersByTime(2000);
    expect(fired).toHaveLength(4);
  });

  it("a timer that fires early does not fire the slot twice or early", () => {
    // The timer's clock runs 3 ms ahead of the wall clock the slots follow.
    let skew = 0;
    const { t, fired } = ticker(() => Date.now() - skew);
    vi.setSystemTime(config.genesisTime + 10);
    t.start();
    vi.advanceTimersByTime(490); // slot 1, on time
    // From now on the wall clock lags the timers by 3 ms: the slot-2 timer fires in slot 1.
    skew = 3;
    vi.advanceTimersByTime(2 * 500 + 10);
    t.stop();
    expect(fired).toEqual([1, 2, 3].map((slot) => ({ slot, lateMs: 0 })));
  });

  it("skips no slot when the clock crosses the boundary between two readings", () => {
    // Timers fire up to a millisecond before the wall clock reaches the slot. Here, at every second
    // slot boundary, the first reading of the clock still lags by 1 ms and the next one does not: the
    // tick reads the old slot, and arming again from a second reading once skipped the new one.
    let last = -1;
    const { t, fired, skipped } = ticker(() => {
      const d = Date.now();
      const lag = d !== last && (d - config.genesisTime) % 1000 === 0 ? 1 : 0;
      last = d;
      return d - lag;
    });
    vi.setSystemTime(config.genesisTime + 10);
    t.start();
    vi.advanceTimersByTime(20 * 500);
    t.stop();
    expect(skipped).toEqual([]);
    expect(fired.map((f) => f.slot)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("reports slots a late wake-up skipped, then fires the current one with its lateness", () => {
    let stall = 0;
    const { t, fired, skipped } = ticker(() => Date.now() + stall);
    vi.setSystemTime(config.genesisTime + 10);
    t.start();
    vi.advanceTimersByTime(500); // slot 1 on time
    // The process was not scheduled for 1.2 s: when the slot-2 timer runs, the clock is in slot 4.
    stall = 1200;
    vi.advanceTimersByTime(500);
    t.stop();
    expect(fired[0]).toEqual({ slot: 1, lateMs: 0 });
    expect(fired[1]).toEqual({ slot: 4, lateMs: 200 });
    expect(skipped).toEqual([[2, 3]]);
  });

  it("does not count slots before its first tick as skipped", () => {
    vi.setSystemTime(config.genesisTime + 40 * 500 + 250);
    const { t, fired, skipped } = ticker(Date.now);
    t.start();
    vi.advanceTimersByTime(500);
    t.stop();
    expect(fired.map((f) => f.slot)).toEqual([41]);
    expect(skipped).toEqual([]);
  });
});
