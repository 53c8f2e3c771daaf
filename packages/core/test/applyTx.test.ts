import { describe, expect, it } from "vitest";
import { applyTx, assertValidTx, assertValidTxFormat, isValidTx, type TxContext } from "../src/applyTx.js";
import { toHex } from "../src/bytes.js";
import { MAX_AMOUNT } from "../src/params.js";
import { type ChainState, getAccount, offenceKey, totalSupply } from "../src/state.js";
import { StateDraft } from "../src/stateDraft.js";
import { stateRoot } from "../src/stateRoot.js";
import { TxError, TxErrorCode } from "../src/txError.js";
import type { SignedTx } from "../src/types.js";
import {
  bpm,
  CONFIG,
  defaultState,
  equivocation,
  evidence,
  expectError,
  header,
  key,
  makeState,
  pk,
  START_BALANCE,
  START_STAKE,
  stake,
  transfer,
  unstake,
} from "./fixtures.js";

const SLOT = 10;
const ctx: TxContext = { config: CONFIG, slot: SLOT };

/** Validates (format + signature) and applies `txs` in order on a draft of `state`. */
function applyAll(state: ChainState, ...txs: SignedTx[]): { draft: StateDraft; fees: bigint } {
  const draft = new StateDraft(state);
  let fees = 0n;
  for (const tx of txs) {
    assertValidTx(tx, CONFIG.chainId);
    fees += applyTx(draft, tx, ctx);
  }
  return { draft, fees };
}

/** Asserts `tx` fails on `state` with a TxError, and that the draft it failed on is unchanged. */
function expectTxError(
  state: ChainState,
  tx: SignedTx,
  code: string,
  verdict: "ignore" | "reject",
  before: SignedTx[] = [],
) {
  const { draft } = applyAll(state, ...before);
  const rootBefore = stateRoot(draft.finish());
  const err = expectError(
    () => {
      assertValidTx(tx, CONFIG.chainId);
      applyTx(draft, tx, ctx);
    },
    TxError,
    code,
    verdict,
  );
  expect(stateRoot(draft.finish())).toEqual(rootBefore);
  return err;
}

const acct = (draft: StateDraft | ChainState, i: number) =>
  draft instanceof StateDraft ? draft.get(pk(i)) : getAccount(draft, pk(i));

describe("transfer", () => {
  it("moves the amount, debits the fee and bumps the nonce", () => {
    const state = defaultState();
    const { draft, fees } = applyAll(state, transfer(key(0), pk(1), 250n, 0, 3n));
    expect(fees).toBe(3n);
    expect(acct(draft, 0)).toEqual({
      balance: START_BALANCE - 253n,
      stake: START_STAKE,
      unbonding: [],
      nonce: 1,
    });
    expect(acct(draft, 1)).toEqual({
      balance: START_BALANCE + 250n,
      stake: START_STAKE,
      unbonding: [],
      nonce: 0,
    });
    // Only the fee leaves circulation (the caller pays it to the proposer).
    expect(totalSupply(draft.finish())).toBe(totalSupply(state) - 3n);
    // The base state is untouched.
    expect(acct(state, 0).balance).toBe(START_BALANCE);
  });

  it("creates the recipient's account", () => {
    const { draft } = applyAll(defaultState(), transfer(key(0), pk(10), 5n, 0, 0n));
    expect(acct(draft, 10)).toEqual({ balance: 5n, stake: 0n, unbonding: [], nonce: 0 });
    expect(draft.finish().accounts.has(toHex(pk(10)))).toBe(true);
  });

  it("to self only costs the fee", () => {
    const { draft } = applyAll(defaultState(), transfer(key(0), pk(0), 400n, 0, 2n));
    expect(acct(draft, 0)).toEqual({
      balance: START_BALANCE - 2n,
      stake: START_STAKE,
      unbonding: [],
      nonce: 1,
    });
  });

  it("to self still needs amount + fee in the balance", () => {
    const state = makeState([{ key: 0, balance: 100n }]);
    expectTxError(state, transfer(key(0), pk(0), 100n, 0, 1n), TxErrorCode.INSUFFICIENT_BALANCE, "ignore");
    const { draft } = applyAll(state, transfer(key(0), pk(0), 99n, 0, 1n));
    expect(acct(draft, 0).balance).toBe(99n);
  });

  it("may spend the whole balance exactly", () => {
    const state = makeState([{ key: 0, balance: 100n }]);
    const { draft } = applyAll(state, transfer(key(0), pk(1), 90n, 0, 10n));
    expect(acct(draft, 0).balance).toBe(0n);
    expect(acct(draft, 1).balance).toBe(90n);
  });

  it("fails with INSUFFICIENT_BALANCE when amount + fee exceeds the balance", () => {
    const state = makeState([{ key: 0, balance: 100n }]);
    const err = expectTxError(
      state,
      transfer(key(0), pk(1), 100n, 0, 1n),
      TxErrorCode.INSUFFICIENT_BALANCE,
      "ignore",
    );
    expect(err.meta).toMatchObject({ balance: "100", needed: "101" });
    expectTxError(state, transfer(key(0), pk(1), 101n, 0, 0n), TxErrorCode.INSUFFICIENT_BALANCE, "ignore");
    // Stake does not count as balance.
    const staked = makeState([{ key: 0, balance: 10n, stake: 1000n }]);
    expectTxError(staked, transfer(key(0), pk(1), 11n, 0, 0n), TxErrorCode.INSUFFICIENT_BALANCE, "ignore");
  });

  it("from an account that does not exist fails on the balance", () => {
    expectTxError(
      defaultState(),
      transfer(key(11), pk(1), 1n, 0, 0n),
      TxErrorCode.INSUFFICIENT_BALANCE,
      "ignore",
    );
  });

  it("fails with OVERFLOW when the recipient would exceed 2^64-1", () => {
    const state = makeState([
      { key: 0, balance: 100n },
      { key: 1, balance: MAX_AMOUNT - 5n },
    ]);
    expectTxError(state, transfer(key(0), pk(1), 6n, 0, 0n), TxErrorCode.OVERFLOW, "reject");
    const { draft } = applyAll(state, transfer(key(0), pk(1), 5n, 0, 0n));
    expect(acct(draft, 1).balance).toBe(MAX_AMOUNT);
  });

  it("a zero amount is rejected by format", () => {
    const tx = transfer(key(0), pk(1), 0n, 0);
    expectError(() => assertValidTxFormat(tx), TxError, TxErrorCode.ZERO_AMOUNT, "reject");
    expect(isValidTx(tx, CONFIG.chainId)).toBe(false);
  });
});

describe("nonces", () => {
  it("must equal the account nonce", () => {
    const state = makeState([{ key: 0, balance: 1000n, nonce: 3 }]);
    const high = expectTxError(state, transfer(key(0), pk(1), 1n, 4), TxErrorCode.NONCE_TOO_HIGH, "ignore");
    expect(high.meta).toMatchObject({ nonce: 4, expected: 3 });
    const low = expectTxError(state, transfer(key(0), pk(1), 1n, 2), TxErrorCode.NONCE_TOO_LOW, "ignore");
    expect(low.meta).toMatchObject({ nonce: 2, expected: 3 });
    expectTxError(state, transfer(key(0), pk(1), 1n, 0), TxErrorCode.NONCE_TOO_LOW, "ignore");
    const { draft } = applyAll(
      state,
      transfer(key(0), pk(1), 1n, 3),
      bpm(key(0), 60, 4),
      stake(key(0), 5n, 5),
    );
    expect(acct(draft, 0).nonce).toBe(6);
  });

  it("a replayed tx fails as NONCE_TOO_LOW", () => {
    const tx = transfer(key(0), pk(1), 1n, 0);
    expectTxError(defaultState(), tx, TxErrorCode.NONCE_TOO_LOW, "ignore", [tx]);
  });

  it("is checked before the balance", () => {
    const state = makeState([{ key: 0, balance: 0n, nonce: 1 }]);
    expectTxError(state, transfer(key(0), pk(1), 1000n, 5), TxErrorCode.NONCE_TOO_HIGH, "ignore");
  });
});

describe("stake", () => {
  it("bonds balance into stake", () => {
    const { draft, fees } = applyAll(defaultState(), stake(key(4), 700n, 0, 4n));
    expect(fees).toBe(4n);
    expect(acct(draft, 4)).toEqual({ balance: START_BALANCE - 704n, stake: 700n, unbonding: [], nonce: 1 });
  });

  it("needs amount + fee in the balance", () => {
    const state = makeState([{ key: 0, balance: 100n }]);
    expectTxError(state, stake(key(0), 100n, 0, 1n), TxErrorCode.INSUFFICIENT_BALANCE, "ignore");
    const { draft } = applyAll(state, stake(key(0), 99n, 0, 1n));
    expect(acct(draft, 0)).toMatchObject({ balance: 0n, stake: 99n });
  });

  it("a zero amount is rejected by format", () => {
    expectError(() => assertValidTxFormat(stake(key(0), 0n, 0)), TxError, TxErrorCode.ZERO_AMOUNT, "reject");
  });
});

describe("unstake", () => {
  it("moves stake into an unbonding entry released after the unbonding delay", () => {
    const { draft, fees } = applyAll(defaultState(), unstake(key(0), 300n, 0, 2n));
    expect(fees).toBe(2n);
    expect(acct(draft, 0)).toEqual({
      balance: START_BALANCE - 2n,
      stake: START_STAKE - 300n,
      unbonding: [{ amount: 300n, releaseSlot: SLOT + CONFIG.unbondingDelay }],
      nonce: 1,
    });
  });

  it("appends entries, and may unstake everything", () => {
    const { draft } = applyAll(defaultState(), unstake(key(0), 1n, 0), unstake(key(0), START_STAKE - 1n, 1));
    expect(acct(draft, 0).stake).toBe(0n);
    expect(acct(draft, 0).unbonding).toEqual([
      { amount: 1n, releaseSlot: SLOT + CONFIG.unbondingDelay },
      { amount: START_STAKE - 1n, releaseSlot: SLOT + CONFIG.unbondingDelay },
    ]);
  });

  it("fails with INSUFFICIENT_STAKE beyond the stake", () => {
    const err = expectTxError(
      defaultState(),
      unstake(key(0), START_STAKE + 1n, 0),
      TxErrorCode.INSUFFICIENT_STAKE,
      "ignore",
    );
    expect(err.meta).toMatchObject({ stake: START_STAKE.toString(), amount: (START_STAKE + 1n).toString() });
    // Unbonding funds are not stake.
    const state = makeState([
      { key: 0, balance: 10n, stake: 0n, unbonding: [{ amount: 500n, releaseSlot: 99 }] },
    ]);
    expectTxError(state, unstake(key(0), 1n, 0), TxErrorCode.INSUFFICIENT_STAKE, "ignore");
  });

  it("fails with INSUFFICIENT_BALANCE when the fee cannot be paid", () => {
    const state = makeState([{ key: 0, balance: 0n, stake: 500n }]);
    expectTxError(state, unstake(key(0), 100n, 0, 1n), TxErrorCode.INSUFFICIENT_BALANCE, "ignore");
    const { draft } = applyAll(state, unstake(key(0), 100n, 0, 0n));
    expect(acct(draft, 0).stake).toBe(400n);
  });

  it("a zero amount is rejected by format", () => {
    expectError(
      () => assertValidTxFormat(unstake(key(0), 0n, 0)),
      TxError,
      TxErrorCode.ZERO_AMOUNT,
      "reject",
    );
  });
});

describe("bpm", () => {
  it.each([1, 72, 300])("accepts %i and only costs the fee", (value) => {
    const tx = bpm(key(0), value, 0, 5n);
    expect(() => assertValidTxFormat(tx)).not.toThrow();
    const { draft, fees } = applyAll(defaultState(), tx);
    expect(fees).toBe(5n);
    expect(acct(draft, 0)).toEqual({
      balance: START_BALANCE - 5n,
      stake: START_STAKE,
      unbonding: [],
      nonce: 1,
    });
  });

  it.each([0, 301, 72.5, -1, 65535, Number.NaN])("rejects %d as BPM_OUT_OF_RANGE", (value) => {
    const tx = { kind: "bpm" as const, from: pk(0), nonce: 0, fee: 0n, bpm: value };
    const err = expectError(() => assertValidTxFormat(tx), TxError, TxErrorCode.BPM_OUT_OF_RANGE, "reject");
    expect(err.meta).toMatchObject({ bpm: value });
  });

  it("a free bpm reading needs no balance", () => {
    const { draft } = applyAll(makeState([]), bpm(key(7), 60, 0, 0n));
    expect(acct(draft, 7).nonce).toBe(1);
    expectTxError(makeState([]), bpm(key(7), 60, 0, 1n), TxErrorCode.INSUFFICIENT_BALANCE, "ignore");
  });
});

describe("signature", () => {
  it("a tampered tx fails assertValidTx with BAD_SIGNATURE", () => {
    const tx = transfer(key(0), pk(1), 10n, 0);
    expectError(
      () => assertValidTx({ ...tx, amount: 11n }, CONFIG.chainId),
      TxError,
      TxErrorCode.BAD_SIGNATURE,
      "reject",
    );
    expectError(() => assertValidTx(tx, "other-chain"), TxError, TxErrorCode.BAD_SIGNATURE, "reject");
    expect(isValidTx(tx, CONFIG.chainId)).toBe(true);
  });

  it("format is checked before the signature", () => {
    const tx = { ...bpm(key(0), 60, 0), bpm: 0 };
    expectError(() => assertValidTx(tx, CONFIG.chainId), TxError, TxErrorCode.BPM_OUT_OF_RANGE, "reject");
  });
});

describe("evidence", () => {
  /** Offender key(1): stake 1000, 50 unbonding; reporter key(4). */
  function evidenceState(): ChainState {
    return makeState([
      { key: 1, balance: 500n, stake: 1000n, unbonding: [{ amount: 50n, releaseSlot: 20 }] },
      { key: 4, balance: 100n },
      { key: 2, balance: 100n, stake: 300n },
    ]);
  }

  it("slashes the offender's stake and unbonding, burns it and records the offence", () => {
    const state = evidenceState();
    const [a, b] = equivocation(key(1), 7);
    const { draft, fees } = applyAll(state, evidence(key(4), a, b, 0, 3n));
    expect(fees).toBe(3n);
    expect(acct(draft, 1)).toEqual({ balance: 500n, stake: 0n, unbonding: [], nonce: 0 });
    expect(acct(draft, 4)).toEqual({ balance: 97n, stake: 0n, unbonding: [], nonce: 1 });
    expect(acct(draft, 2)).toEqual(acct(state, 2));
    expect(draft.burned).toBe(1050n);
    const next = draft.finish();
    expect(next.burned).toBe(1050n);
    expect(next.offences.has(offenceKey(pk(1), 7))).toBe(true);
    expect(totalSupply(next)).toBe(totalSupply(state) - 1050n - 3n);
  });

  it("for the current slot is accepted", () => {
    const [a, b] = equivocation(key(1), SLOT);
    const { draft } = applyAll(evidenceState(), evidence(key(4), a, b, 0));
    expect(acct(draft, 1).stake).toBe(0n);
  });

  it("may be sent by the offender itself (fee and slash both apply)", () => {
    const [a, b] = equivocation(key(1), 3);
    const { draft } = applyAll(evidenceState(), evidence(key(1), a, b, 0, 5n));
    expect(acct(draft, 1)).toEqual({ balance: 495n, stake: 0n, unbonding: [], nonce: 1 });
    expect(draft.burned).toBe(1050n);
  });

  it("against an account with nothing at stake still records the offence", () => {
    const [a, b] = equivocation(key(12), 3);
    const { draft } = applyAll(evidenceState(), evidence(key(4), a, b, 0));
    expect(draft.burned).toBe(0n);
    expect(draft.finish().offences.has(offenceKey(pk(12), 3))).toBe(true);
  });

  it("a second piece of evidence for the same offence is EVIDENCE_DUPLICATE", () => {
    const [a, b] = equivocation(key(1), 7);
    const first = evidence(key(4), a, b, 0);
    // Within the same draft, with the headers the other way round, or a third conflicting header.
    const c = header(key(1), { slot: 7, height: 7, tag: "c" });
    for (const dup of [evidence(key(4), a, b, 1), evidence(key(4), b, a, 1), evidence(key(4), a, c, 1)]) {
      expectTxError(evidenceState(), dup, TxErrorCode.EVIDENCE_DUPLICATE, "ignore", [first]);
    }
    // And from an earlier block (the offence is in the base state).
    const after = applyAll(evidenceState(), first).draft.finish();
    const err = expectTxError(after, evidence(key(2), b, a, 0), TxErrorCode.EVIDENCE_DUPLICATE, "ignore");
    expect(err.meta).toMatchObject({ slot: 7 });
    // Another slot of the same offender is a new offence.
    const [a8, b8] = equivocation(key(1), 8);
    expect(() => applyAll(after, evidence(key(2), a8, b8, 0))).not.toThrow();
  });

  it("with headers of different proposers is EVIDENCE_INVALID", () => {
    const a = header(key(1), { slot: 7, tag: "a" });
    const b = header(key(2), { slot: 7, tag: "b" });
    const err = expectTxError(
      evidenceState(),
      evidence(key(4), a, b, 0),
      TxErrorCode.EVIDENCE_INVALID,
      "reject",
    );
    expect(err.message).toMatch(/different proposers/);
  });

  it("with headers of different slots is EVIDENCE_INVALID", () => {
    const a = header(key(1), { slot: 7, tag: "a" });
    const b = header(key(1), { slot: 8, tag: "b" });
    const err = expectTxError(
      evidenceState(),
      evidence(key(4), a, b, 0),
      TxErrorCode.EVIDENCE_INVALID,
      "reject",
    );
    expect(err.message).toMatch(/slots 7 and 8/);
  });

  it("with the same block twice is EVIDENCE_INVALID, even with a second signature", () => {
    const a = header(key(1), { slot: 7, tag: "a" });
    expectTxError(evidenceState(), evidence(key(4), a, a, 0), TxErrorCode.EVIDENCE_INVALID, "reject");
    // Same unsigned header, different signature bytes: still one block.
    const resigned = { ...a, signature: header(key(1), { slot: 7, tag: "z" }).signature };
    const err = expectTxError(
      evidenceState(),
      evidence(key(4), a, resigned, 0),
      TxErrorCode.EVIDENCE_INVALID,
      "reject",
    );
    expect(err.message).toMatch(/same block/);
  });

  it("with a header signature that does not verify is EVIDENCE_INVALID", () => {
    const [a, b] = equivocation(key(1), 7);
    // Forged: claims key(1) as proposer but signed by key(2).
    const forged = { ...header(key(2), { slot: 7, height: 7, tag: "b-7" }), proposer: pk(1) };
    const badSig = { ...b, signature: a.signature };
    // Signed for another chain.
    const [fa, fb] = equivocation(key(1), 7, "other-chain");
    for (const tx of [
      evidence(key(4), a, forged, 0),
      evidence(key(4), badSig, a, 0),
      evidence(key(4), fa, fb, 0),
      evidence(key(4), a, fb, 0),
    ]) {
      const err = expectTxError(evidenceState(), tx, TxErrorCode.EVIDENCE_INVALID, "reject");
      expect(err.message).toMatch(/signature/);
    }
  });

  it("for a future slot is EVIDENCE_FUTURE (ignore: it may become valid)", () => {
    const [a, b] = equivocation(key(1), SLOT + 1);
    const tx = evidence(key(4), a, b, 0);
    expectTxError(evidenceState(), tx, TxErrorCode.EVIDENCE_FUTURE, "ignore");
    const draft = new StateDraft(evidenceState());
    expect(() => applyTx(draft, tx, { config: CONFIG, slot: SLOT + 1 })).not.toThrow();
  });

  it("needs the fee and the right nonce", () => {
    const [a, b] = equivocation(key(1), 7);
    expectTxError(
      evidenceState(),
      evidence(key(4), a, b, 0, 101n),
      TxErrorCode.INSUFFICIENT_BALANCE,
      "ignore",
    );
    expectTxError(evidenceState(), evidence(key(4), a, b, 1), TxErrorCode.NONCE_TOO_HIGH, "ignore");
  });

  it("burned + the remaining supply always add up", () => {
    const state = evidenceState();
    const [a, b] = equivocation(key(1), 7);
    const next = applyAll(state, evidence(key(4), a, b, 0, 0n)).draft.finish();
    expect(totalSupply(next) + next.burned).toBe(totalSupply(state) + state.burned);
  });
});

describe("a failed tx leaves the draft unchanged", () => {
  it("for every failure kind, after earlier successful txs in the same draft", () => {
    const state = defaultState();
    const before = [transfer(key(0), pk(4), 10n, 0), stake(key(4), 5n, 0)];
    const [a, b] = equivocation(key(1), 5);
    const failing: Array<[SignedTx, string]> = [
      [transfer(key(0), pk(1), 1n, 0), TxErrorCode.NONCE_TOO_LOW],
      [transfer(key(0), pk(1), 1n, 2), TxErrorCode.NONCE_TOO_HIGH],
      [transfer(key(0), pk(1), START_BALANCE, 1), TxErrorCode.INSUFFICIENT_BALANCE],
      [unstake(key(4), 6n, 1), TxErrorCode.INSUFFICIENT_STAKE],
      [evidence(key(4), a, b, 1, START_BALANCE * 2n), TxErrorCode.INSUFFICIENT_BALANCE],
      [evidence(key(4), ...equivocation(key(1), SLOT + 5), 1), TxErrorCode.EVIDENCE_FUTURE],
    ];
    for (const [tx, code] of failing) {
      const { draft } = applyAll(state, ...before);
      const snapshot = draft.finish();
      const root = stateRoot(snapshot);
      expectError(() => applyTx(draft, tx, ctx), TxError, code);
      const after = draft.finish();
      expect(stateRoot(after), code).toEqual(root);
      expect(after.burned).toBe(snapshot.burned);
      expect(after.offences.size).toBe(snapshot.offences.size);
    }
  });
});
