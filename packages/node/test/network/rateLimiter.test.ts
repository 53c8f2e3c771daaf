import { describe, expect, it } from "vitest";
import { createRateLimiter } from "../../src/network/rateLimiter.js";

describe("token bucket rate limiter", () => {
  it("allows a burst, then refills at the configured rate, per key", () => {
    let now = 0;
    const limiter = createRateLimiter({ ratePerSecond: 2, burst: 3, now: () => now });
    expect([1, 2, 3, 4].map(() => limiter.take("a"))).toEqual([true, true, true, false]);
    expect(limiter.take("b")).toBe(true);
    now = 499;
    expect(limiter.take("a")).toBe(false);
    now = 500;
    expect(limiter.take("a")).toBe(true);
    expect(limiter.take("a")).toBe(false);
    now = 100_000; // refill never exceeds the burst
    expect([1, 2, 3, 4].map(() => limiter.take("a"))).toEqual([true, true, true, false]);
  });

  it("drops full buckets when it holds too many", () => {
    let now = 0;
    const limiter = createRateLimiter({ ratePerSecond: 10, burst: 1, maxBuckets: 2, now: () => now });
    limiter.take("a");
    limiter.take("b");
    expect(limiter.size()).toBe(2);
    now = 1_000; // a and b are full again, so they carry no state worth keeping
    limiter.take("c");
    expect(limiter.size()).toBe(1);
  });

  it("defaults to 50 requests/s with a burst of 100", () => {
    let now = 0;
    const limiter = createRateLimiter({ now: () => now });
    let allowed = 0;
    for (let i = 0; i < 150; i++) if (limiter.take("p")) allowed++;
    expect(allowed).toBe(100);
    now = 1_000;
    allowed = 0;
    for (let i = 0; i < 150; i++) if (limiter.take("p")) allowed++;
    expect(allowed).toBe(50);
  });

  it("takes costs of any size, and charges after the fact into debt that the refill pays back", () => {
    let now = 0;
    const limiter = createRateLimiter({ ratePerSecond: 1_000, burst: 10_000, now: () => now });
    expect(limiter.tokens("a")).toBe(10_000); // an unknown key holds a full bucket
    expect(limiter.size()).toBe(0); // … without creating one
    expect(limiter.take("a", 6_000)).toBe(true);
    expect(limiter.take("a", 6_000)).toBe(false); // not enough: nothing taken
    expect(limiter.tokens("a")).toBe(4_000);
    limiter.charge("a", 10_000);
    expect(limiter.tokens("a")).toBe(-6_000);
    expect(limiter.take("a", 0)).toBe(false); // in debt, even a free request is refused
    now = 6_000;
    expect(limiter.tokens("a")).toBe(0);
    now = 6_001;
    expect(limiter.tokens("a")).toBe(1);
    expect(limiter.take("a", 1)).toBe(true);
    expect(limiter.tokens("b")).toBe(10_000); // keys are independent
  });

  it("a bucket in debt is never pruned (it is not full)", () => {
    let now = 0;
    const limiter = createRateLimiter({ ratePerSecond: 1, burst: 1, maxBuckets: 1, now: () => now });
    limiter.charge("debtor", 100);
    now = 10_000;
    limiter.take("other");
    expect(limiter.tokens("debtor")).toBe(1 - 100 + 10);
  });

  it("rejects nonsensical settings and costs", () => {
    expect(() => createRateLimiter().take("a", -1)).toThrow(RangeError);
    expect(() => createRateLimiter().charge("a", Number.NaN)).toThrow(RangeError);
    expect(() => createRateLimiter({ burst: 0 })).toThrow(RangeError);
    expect(() => createRateLimiter({ ratePerSecond: -1 })).toThrow(RangeError);
  });
});
