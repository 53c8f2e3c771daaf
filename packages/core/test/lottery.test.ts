import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildValidatorSet, drawIndex, lotterySeed, lotteryWinner, validatorSet } from "../src/lottery.js";
import type { ChainState } from "../src/state.js";
import { StateDraft } from "../src/stateDraft.js";
import type { Account } from "../src/types.js";

// --- helpers -------------------------------------------------------------------------------------

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** A 32-byte public key derived from `label` by SHA-256 (any 32 bytes serve: the lottery never checks the curve). */
function keyOf(label: string | number): Uint8Array {
  return new Uint8Array(createHash("sha256").update(`key:${label}`).digest());
}

function account(stake: bigint, balance = 0n): Account {
  return { balance, stake, unbonding: [], nonce: 0 };
}

/** A state holding exactly these (public key, stake) pairs, inserted in the given order. */
function stateOf(entries: ReadonlyArray<readonly [Uint8Array, bigint]>): ChainState {
  const accounts = new Map<string, Account>();
  for (const [pk, stake] of entries) accounts.set(hex(pk), account(stake));
  return { accounts, offences: new Set(), minted: 0n, burned: 0n };
}

/** The seed formula recomputed independently of the code under test. */
function referenceSeed(parentHash: Uint8Array, slot: number): Buffer {
  const s = Buffer.alloc(8);
  s.writeBigUInt64BE(BigInt(slot));
  return createHash("sha256")
    .update(Buffer.from("cardio/lottery", "utf8"))
    .update(parentHash)
    .update(s)
    .digest();
}

/** A 32-byte big-endian seed with integer value `v`. */
function seedOfValue(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let x = v;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  if (x !== 0n) throw new RangeError("seed value exceeds 256 bits");
  return out;
}

/** A large 256-bit seed whose value mod `total` is exactly `r` (so the top bytes are not all zero). */
function seedWithRemainder(total: bigint, r: bigint): Uint8Array {
  const top = (1n << 255n) / total;
  return seedOfValue(top * total + r);
}

const parentHashOf = (label: string): Uint8Array =>
  new Uint8Array(createHash("sha256").update(label).digest());

// --- seed ----------------------------------------------------------------------------------------

describe("lotterySeed", () => {
  it('is sha256("cardio/lottery" ‖ parentHash ‖ uint64be(slot))', () => {
    const parents = [new Uint8Array(32), new Uint8Array(32).fill(0xff), parentHashOf("p")];
    for (const p of parents) {
      for (const slot of [0, 1, 255, 256, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER]) {
        expect(hex(lotterySeed(p, slot))).toBe(referenceSeed(p, slot).toString("hex"));
      }
    }
  });

  it("has a known value (guards the byte layout against silent change)", () => {
    // Preimage spelled out byte by byte: 14 ASCII bytes, 32 zero bytes, slot 1 as u64 big-endian.
    const preimage = Buffer.concat([
      Buffer.from([0x63, 0x61, 0x72, 0x64, 0x69, 0x6f, 0x2f, 0x6c, 0x6f, 0x74, 0x74, 0x65, 0x72, 0x79]),
      Buffer.alloc(32),
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]),
    ]);
    expect(preimage.length).toBe(54);
    expect(hex(lotterySeed(new Uint8Array(32), 1))).toBe(createHash("sha256").update(preimage).digest("hex"));
  });

  it("refuses slots that are not u53 integers and parent hashes that are not 32 bytes", () => {
    expect(() => lotterySeed(new Uint8Array(32), -1)).toThrow(RangeError);
    expect(() => lotterySeed(new Uint8Array(32), 1.5)).toThrow(RangeError);
    expect(() => lotterySeed(new Uint8Array(32), 2 ** 53)).toThrow(RangeError);
    expect(() => lotterySeed(new Uint8Array(31), 1)).toThrow(RangeError);
  });
});

// --- validator set -------------------------------------------------------------------------------

describe("validator set", () => {
  it("orders validators by public-key bytes whatever the insertion order", () => {
    const entries = Array.from({ length: 50 }, (_, i) => [keyOf(i), BigInt(10 + i)] as const);
    const forward = buildValidatorSet(stateOf(entries), 1n);
    const backward = buildValidatorSet(stateOf([...entries].reverse()), 1n);
    const sorted = [...entries].sort((a, b) => Buffer.compare(a[0], b[0]));
    for (const set of [forward, backward]) {
      expect(set.publicKeys.map(hex)).toEqual(sorted.map(([pk]) => hex(pk)));
      expect(set.hexKeys).toEqual(sorted.map(([pk]) => hex(pk)));
      expect(set.stakes).toEqual(sorted.map(([, s]) => s));
    }
    // Byte order, not numeric or signed order: 0x80… sorts after 0x7f….
    const lo = new Uint8Array(32).fill(0x7f);
    const hi = new Uint8Array(32).fill(0x80);
    const set = buildValidatorSet(
      stateOf([
        [hi, 5n],
        [lo, 5n],
      ]),
      1n,
    );
    expect(set.publicKeys.map(hex)).toEqual([hex(lo), hex(hi)]);
  });

  it("builds prefix sums and the total", () => {
    const set = buildValidatorSet(
      stateOf([
        [new Uint8Array(32).fill(3), 25n],
        [new Uint8Array(32).fill(1), 100n],
        [new Uint8Array(32).fill(2), 50n],
      ]),
      1n,
    );
    expect(set.stakes).toEqual([100n, 50n, 25n]);
    expect(set.cumulative).toEqual([100n, 150n, 175n]);
    expect(set.totalStake).toBe(175n);
  });

  it("admits only accounts with stake ≥ minStake (and never zero stake)", () => {
    const below = keyOf("below");
    const exact = keyOf("exact");
    const above = keyOf("above");
    const rich = keyOf("rich-but-unstaked");
    const state = stateOf([
      [below, 9n],
      [exact, 10n],
      [above, 11n],
    ]);
    (state.accounts as Map<string, Account>).set(hex(rich), account(0n, 1_000_000n));
    const set = buildValidatorSet(state, 10n);
    expect(new Set(set.hexKeys)).toEqual(new Set([hex(exact), hex(above)]));
    expect(set.totalStake).toBe(21n);
    // minStake 0 must not let zero-stake accounts into the draw.
    expect(buildValidatorSet(state, 0n).hexKeys).not.toContain(hex(rich));
    expect(buildValidatorSet(state, 0n).totalStake).toBe(30n);
    // A parent hash/slot can never elect the account below the threshold.
    for (let slot = 1; slot <= 500; slot++) {
      const w = lotteryWinner(state, parentHashOf("threshold"), slot, 10n);
      expect(w?.hex).not.toBe(hex(below));
    }
  });

  it("is cached per state object (and per minStake)", () => {
    const state = stateOf([[keyOf(1), 10n]]);
    const a = validatorSet(state, 1n);
    expect(validatorSet(state, 1n)).toBe(a);
    // A different minStake is a different set.
    const b = validatorSet(state, 100n);
    expect(b).not.toBe(a);
    expect(b.totalStake).toBe(0n);
    // An equal but distinct state object gets its own set, with equal contents.
    const twin = stateOf([[keyOf(1), 10n]]);
    const c = validatorSet(twin, 1n);
    expect(c).not.toBe(validatorSet(state, 1n));
    expect(c).toEqual(buildValidatorSet(state, 1n));
  });

  it("is shared by a state built from its parent with no stake changed, and only then", () => {
    const base = stateOf([
      [keyOf(1), 10n],
      [keyOf(2), 20n],
    ]);
    const set = validatorSet(base, 1n);
    const after = (change: (d: StateDraft) => void): ChainState => {
      const d = new StateDraft(base);
      change(d);
      return d.finish();
    };
    // Balances, nonces and a new account without stake: the same entrants.
    const paid = after((d) => {
      d.set(keyOf(1), { ...d.get(keyOf(1)), balance: 5n, nonce: 1 });
      d.set(keyOf(3), account(0n, 7n));
    });
    expect(validatorSet(paid, 1n)).toBe(set);
    expect(validatorSet(paid, 2n)).toEqual(buildValidatorSet(paid, 2n));
    // A stake changed (bonded, slashed, or a new staker): a set of its own, built from the new stakes.
    for (const change of [
      (d: StateDraft) => d.set(keyOf(1), account(11n)),
      (d: StateDraft) => d.set(keyOf(2), account(0n)),
      (d: StateDraft) => d.set(keyOf(4), account(5n)),
    ]) {
      const next = after(change);
      expect(validatorSet(next, 1n)).not.toBe(set);
      expect(validatorSet(next, 1n)).toEqual(buildValidatorSet(next, 1n));
    }
  });
});

// --- drawIndex -----------------------------------------------------------------------------------

describe("drawIndex", () => {
  // Stakes 100, 50, 25, 10, 5 in key order: cumulative 100, 150, 175, 185, 190.
  const stakes = [100n, 50n, 25n, 10n, 5n];
  const state = stateOf(stakes.map((s, i) => [new Uint8Array(32).fill(i + 1), s] as const));
  const set = buildValidatorSet(state, 1n);

  it("picks the first validator whose cumulative stake exceeds r at every interval edge", () => {
    expect(set.cumulative).toEqual([100n, 150n, 175n, 185n, 190n]);
    const total = set.totalStake;
    expect(drawIndex(set, seedWithRemainder(total, 0n))).toBe(0);
    let start = 0n;
    for (let i = 0; i < set.cumulative.length; i++) {
      const end = set.cumulative[i]!;
      // r = start (first value of interval i), r = c[i]-1 (last value), r = c[i] (first of the next).
      expect(drawIndex(set, seedWithRemainder(total, start))).toBe(i);
      expect(drawIndex(set, seedWithRemainder(total, end - 1n))).toBe(i);
      if (end < total) expect(drawIndex(set, seedWithRemainder(total, end))).toBe(i + 1);
      start = end;
    }
    // r = total - 1 is the last validator; the remainder can never reach total.
    expect(drawIndex(set, seedWithRemainder(total, total - 1n))).toBe(4);
  });

  it("reduces the whole 256-bit seed modulo the total stake", () => {
    const total = set.totalStake;
    expect(drawIndex(set, seedOfValue(0n))).toBe(0);
    expect(drawIndex(set, seedOfValue(total))).toBe(0); // total mod total = 0
    expect(drawIndex(set, seedOfValue(total + 150n))).toBe(2);
    const max = (1n << 256n) - 1n;
    const expected = max % total; // 2^256-1 mod 190
    const byHand = set.cumulative.findIndex((c) => c > expected);
    expect(drawIndex(set, new Uint8Array(32).fill(0xff))).toBe(byHand);
    // A seed that is a subarray of a larger buffer reads only its own 32 bytes.
    const big = new Uint8Array(96).fill(0xee);
    big.set(seedWithRemainder(total, 160n), 32);
    expect(drawIndex(set, big.subarray(32, 64))).toBe(2);
  });

  it("matches a linear scan for random remainders over many validators", () => {
    const entries = Array.from(
      { length: 300 },
      (_, i) => [keyOf(`lin${i}`), BigInt(1 + ((i * 7919) % 1000))] as const,
    );
    const s = buildValidatorSet(stateOf(entries), 1n);
    for (let k = 0; k < 2000; k++) {
      const seed = referenceSeed(parentHashOf("linear"), k);
      const r = BigInt(`0x${seed.toString("hex")}`) % s.totalStake;
      expect(drawIndex(s, seed)).toBe(s.cumulative.findIndex((c) => c > r));
    }
  });

  it("returns -1 for an empty set, and lotteryWinner returns undefined", () => {
    const empty = stateOf([]);
    expect(drawIndex(buildValidatorSet(empty, 1n), new Uint8Array(32))).toBe(-1);
    expect(lotteryWinner(empty, parentHashOf("x"), 1, 1n)).toBeUndefined();
    // Accounts exist, but none reaches minStake.
    const poor = stateOf([[keyOf("poor"), 5n]]);
    expect(lotteryWinner(poor, parentHashOf("x"), 1, 6n)).toBeUndefined();
  });
});

// --- lotteryWinner -------------------------------------------------------------------------------

describe("lotteryWinner", () => {
  const entries = [100n, 50n, 25n, 10n, 5n].map((s, i) => [keyOf(`w${i}`), s] as const);

  it("is the validator drawn from the reference seed", () => {
    const state = stateOf(entries);
    const set = buildValidatorSet(state, 1n);
    for (let slot = 1; slot <= 200; slot++) {
      const p = parentHashOf(`ref${slot % 7}`);
      const r = BigInt(`0x${referenceSeed(p, slot).toString("hex")}`) % set.totalStake;
      const i = set.cumulative.findIndex((c) => c > r);
      const w = lotteryWinner(state, p, slot, 1n)!;
      expect(w.index).toBe(i);
      expect(w.hex).toBe(set.hexKeys[i]);
      expect(hex(w.publicKey)).toBe(set.hexKeys[i]);
    }
  });

  it("is deterministic: same parent, slot and state give the same winner, on fresh objects too", () => {
    const a = stateOf(entries);
    const b = stateOf([...entries].reverse());
    for (let slot = 1; slot <= 300; slot++) {
      const p = parentHashOf("det");
      const w1 = lotteryWinner(a, p, slot, 1n)!;
      const w2 = lotteryWinner(a, p, slot, 1n)!;
      const w3 = lotteryWinner(b, new Uint8Array(p), slot, 1n)!;
      expect(w2).toEqual(w1);
      expect(w3).toEqual(w1);
    }
  });

  it("depends on the parent hash and the slot", () => {
    const state = stateOf(entries);
    const bySlot = new Set<string>();
    const byParent = new Set<string>();
    for (let k = 0; k < 64; k++) {
      bySlot.add(lotteryWinner(state, parentHashOf("fixed"), k + 1, 1n)!.hex);
      byParent.add(lotteryWinner(state, parentHashOf(`parent${k}`), 1, 1n)!.hex);
    }
    expect(bySlot.size).toBeGreaterThan(1);
    expect(byParent.size).toBeGreaterThan(1);
  });

  it("property: the winner is always a validator of the parent state", () => {
    const arbEntry = fc.record({
      key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      stake: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(arbEntry, { minLength: 1, maxLength: 30, selector: (e) => hex(e.key) }),
        fc.bigInt({ min: 0n, max: 2n ** 40n }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        (list, minStake, parent, slot) => {
          const state = stateOf(list.map((e) => [e.key, e.stake] as const));
          const eligible = list.filter((e) => e.stake > 0n && e.stake >= minStake);
          const w = lotteryWinner(state, parent, slot, minStake);
          if (eligible.length === 0) {
            expect(w).toBeUndefined();
            return;
          }
          expect(w).toBeDefined();
          const entry = eligible.find((e) => hex(e.key) === w!.hex);
          expect(entry).toBeDefined();
          expect(hex(w!.publicKey)).toBe(w!.hex);
          expect(validatorSet(state, minStake).hexKeys[w!.index]).toBe(w!.hex);
        },
      ),
      { numRuns: 300, seed: 20240611 },
    );
  });

  it("property: a single validator always wins, whatever the non-validators around it", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 10 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        (key, stake, others, parent, slot) => {
          const rest = others.filter((k) => hex(k) !== hex(key)).map((k) => [k, stake - 1n] as const);
          const state = stateOf([...rest, [key, stake]]);
          const w = lotteryWinner(state, parent, slot, stake);
          expect(w?.hex).toBe(hex(key));
          expect(w?.index).toBe(0);
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });
});

// --- statistics ----------------------------------------------------------------------------------

/** Pearson's chi-squared statistic of observed counts against expected probabilities. */
function chiSquared(observed: readonly number[], probabilities: readonly number[]): number {
  const n = observed.reduce((a, b) => a + b, 0);
  let x = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = n * probabilities[i]!;
    x += (observed[i]! - e) ** 2 / e;
  }
  return x;
}

/** Critical value of the chi-squared distribution with 4 degrees of freedom at p = 0.001. */
const CHI2_DF4_P001 = 18.467;

describe("lottery distribution", () => {
  const stakes = [100n, 50n, 25n, 10n, 5n];
  const entries = stakes.map((s, i) => [keyOf(`stat${i}`), s] as const);
  const state = stateOf(entries);
  const set = validatorSet(state, 1n);
  const total = Number(set.totalStake);
  const probabilities = set.stakes.map((s) => Number(s) / total);

  // 20 fixed parent hashes × 1,000 slots = 20,000 draws: fixed inputs, so the outcome never changes.
  const PARENTS = 20;
  const SLOTS = 1_000;
  const counts = new Array<number>(set.hexKeys.length).fill(0);
  const uniformCounts = new Array<number>(set.hexKeys.length).fill(0);
  for (let p = 0; p < PARENTS; p++) {
    const parent = parentHashOf(`chi2-parent-${p}`);
    for (let slot = 1; slot <= SLOTS; slot++) {
      counts[lotteryWinner(state, parent, slot, 1n)!.index]! += 1;
      // What a lottery ignoring stake would draw from the same seeds.
      const seed = lotterySeed(parent, slot);
      uniformCounts[Number(BigInt(`0x${hex(seed)}`) % BigInt(set.hexKeys.length))]! += 1;
    }
  }

  it("wins in proportion to stake (chi-squared, df = 4, p ≥ 0.001, 20,000 draws)", () => {
    expect(counts.reduce((a, b) => a + b, 0)).toBe(PARENTS * SLOTS);
    const x2 = chiSquared(counts, probabilities);
    expect(x2).toBeLessThan(CHI2_DF4_P001);
    // Every validator, even the 5/190 one, wins about its share.
    for (let i = 0; i < counts.length; i++) {
      const expected = PARENTS * SLOTS * probabilities[i]!;
      expect(Math.abs(counts[i]! - expected)).toBeLessThan(5 * Math.sqrt(expected));
    }
  });

  it("has the power to tell: a stake-blind (uniform) lottery fails the same test", () => {
    const x2 = chiSquared(uniformCounts, probabilities);
    expect(x2).toBeGreaterThan(CHI2_DF4_P001);
    expect(x2).toBeGreaterThan(1000);
  });
});
