import { describe, expect, it } from "vitest";
import { concatBytes, fromHex, toHex, utf8 } from "../src/bytes.js";
import { ByteWriter } from "../src/byteWriter.js";
import { sha256 } from "../src/hash.js";
import { Domain } from "../src/params.js";
import { type ChainState, EMPTY_ACCOUNT, getAccount, offenceKey, totalSupply } from "../src/state.js";
import { StateDraft } from "../src/stateDraft.js";
import { encodeAccount, stateRoot } from "../src/stateRoot.js";
import type { Account } from "../src/types.js";
import { account, defaultState, makeState, pk } from "./fixtures.js";

/** The state root recomputed from its documented layout, independently of stateRoot.ts. */
function referenceRoot(state: ChainState): Uint8Array {
  const entries = [...state.accounts].sort(([a], [b]) => Buffer.compare(fromHex(a), fromHex(b)));
  const parts: Uint8Array[] = [utf8(Domain.stateRoot), new ByteWriter(4).u32(entries.length).finish()];
  for (const [hex, a] of entries) {
    const w = new ByteWriter().u64(a.balance).u64(a.stake).u64n(a.nonce).u32(a.unbonding.length);
    for (const u of a.unbonding) w.u64(u.amount).u64n(u.releaseSlot);
    parts.push(fromHex(hex), sha256(w.finish()));
  }
  const offences = [...state.offences].sort();
  parts.push(new ByteWriter(4).u32(offences.length).finish());
  for (const o of offences) parts.push(new ByteWriter().varBytes(utf8(o)).finish());
  parts.push(new ByteWriter(16).u64(state.minted).u64(state.burned).finish());
  return sha256(concatBytes(...parts));
}

const sample = (): ChainState =>
  makeState(
    [
      { key: 0, balance: 5n, stake: 100n, nonce: 2 },
      { key: 1, balance: 7n, unbonding: [{ amount: 3n, releaseSlot: 9 }] },
      { key: 2, balance: 1n },
    ],
    { offences: new Set([offenceKey(pk(3), 4), offenceKey(pk(0), 12)]), minted: 30n, burned: 8n },
  );

describe("encodeAccount", () => {
  it("is balance ‖ stake ‖ nonce ‖ u32 count ‖ (amount ‖ releaseSlot)*", () => {
    const a: Account = { balance: 1n, stake: 2n, nonce: 3, unbonding: [{ amount: 4n, releaseSlot: 5 }] };
    expect(toHex(encodeAccount(a))).toBe(
      `${"0000000000000001"}${"0000000000000002"}${"0000000000000003"}00000001${"0000000000000004"}${"0000000000000005"}`,
    );
    expect(encodeAccount(EMPTY_ACCOUNT).length).toBe(28);
  });
});

describe("stateRoot", () => {
  it("follows the documented layout", () => {
    for (const state of [sample(), defaultState(), makeState([])]) {
      expect(stateRoot(state)).toEqual(referenceRoot(state));
    }
  });

  it("matches the layout across states whose account sets change, grow, shrink or are swapped", () => {
    // The sorted keys are reused from one root to the next when the account set is the same: a state
    // of the same size with one account swapped for another must not reuse them.
    const seq = [
      makeState([
        { key: 0, balance: 1n },
        { key: 1, balance: 2n },
      ]),
      makeState([
        { key: 0, balance: 3n },
        { key: 1, balance: 2n },
      ]),
      makeState([
        { key: 0, balance: 3n },
        { key: 2, balance: 2n },
      ]),
      makeState([
        { key: 2, balance: 2n },
        { key: 0, balance: 3n },
        { key: 3, balance: 1n },
      ]),
      makeState([{ key: 3, balance: 1n }]),
      makeState([]),
      sample(),
    ];
    for (const state of [...seq, ...seq.reverse()]) expect(stateRoot(state)).toEqual(referenceRoot(state));
  });

  it("is deterministic and does not depend on object identity", () => {
    expect(stateRoot(sample())).toEqual(stateRoot(sample()));
    expect(stateRoot(sample()).length).toBe(32);
    const s = sample();
    expect(stateRoot(s)).toBe(stateRoot(s)); // cached per state object
  });

  it("does not depend on the insertion order of accounts or offences", () => {
    const s = sample();
    const reversed: ChainState = {
      ...s,
      accounts: new Map([...s.accounts].reverse()),
      offences: new Set([...s.offences].reverse()),
    };
    expect([...reversed.accounts.keys()]).not.toEqual([...s.accounts.keys()]);
    expect(stateRoot(reversed)).toEqual(stateRoot(s));
  });

  it("changes when any part of the state changes", () => {
    const base = sample();
    const root = toHex(stateRoot(base));
    const k0 = toHex(pk(0));
    const k1 = toHex(pk(1));
    const withAccount = (hex: string, a: Account): ChainState => ({
      ...base,
      accounts: new Map([...base.accounts, [hex, a]]),
    });
    const a0 = base.accounts.get(k0)!;
    const a1 = base.accounts.get(k1)!;
    const variants: Record<string, ChainState> = {
      balance: withAccount(k0, { ...a0, balance: a0.balance + 1n }),
      stake: withAccount(k0, { ...a0, stake: a0.stake - 1n }),
      nonce: withAccount(k0, { ...a0, nonce: a0.nonce + 1 }),
      "unbonding amount": withAccount(k1, { ...a1, unbonding: [{ amount: 4n, releaseSlot: 9 }] }),
      "unbonding releaseSlot": withAccount(k1, { ...a1, unbonding: [{ amount: 3n, releaseSlot: 10 }] }),
      "unbonding entries": withAccount(k1, {
        ...a1,
        unbonding: [...a1.unbonding, { amount: 0n, releaseSlot: 0 }],
      }),
      "an empty account": withAccount(toHex(pk(9)), EMPTY_ACCOUNT),
      "an account's key": {
        ...base,
        accounts: new Map([...base.accounts].map(([k, v]) => [k === k0 ? toHex(pk(8)) : k, v])),
      },
      "balances swapped between accounts": withAccount(k1, { ...a1, balance: a0.balance }),
      offences: { ...base, offences: new Set([...base.offences, offenceKey(pk(1), 1)]) },
      "no offences": { ...base, offences: new Set() },
      minted: { ...base, minted: base.minted + 1n },
      burned: { ...base, burned: base.burned + 1n },
    };
    const seen = new Set([root]);
    for (const [what, state] of Object.entries(variants)) {
      const r = toHex(stateRoot(state));
      expect(r, what).not.toBe(root);
      seen.add(r);
    }
    expect(seen.size).toBe(Object.keys(variants).length + 1);
  });
});

describe("state helpers", () => {
  it("getAccount falls back to the empty account", () => {
    const s = sample();
    expect(getAccount(s, pk(0))).toEqual(account({ balance: 5n, stake: 100n, nonce: 2 }));
    expect(getAccount(s, pk(9))).toBe(EMPTY_ACCOUNT);
    expect(Object.isFrozen(EMPTY_ACCOUNT)).toBe(true);
  });

  it("totalSupply sums balances, stakes and unbonding", () => {
    expect(totalSupply(sample())).toBe(5n + 100n + 7n + 3n + 1n);
    expect(totalSupply(makeState([]))).toBe(0n);
  });
});

describe("StateDraft", () => {
  it("overlays writes and builds a new state without touching the base", () => {
    const base = sample();
    const root = stateRoot(base);
    const draft = new StateDraft(base);
    draft.set(pk(0), { ...draft.get(pk(0)), balance: 99n });
    draft.set(pk(9), account({ balance: 1n }));
    draft.minted += 5n;
    draft.addOffence("x");
    expect(draft.get(pk(0)).balance).toBe(99n);
    expect(getAccount(base, pk(0)).balance).toBe(5n);
    expect(draft.hasOffence("x")).toBe(true);
    expect(draft.hasOffence(offenceKey(pk(3), 4))).toBe(true);
    expect(base.offences.has("x")).toBe(false);
    expect([...draft.changedKeys()].sort()).toEqual([toHex(pk(0)), toHex(pk(9))].sort());
    const next = draft.finish();
    expect([...next.accounts.keys()].sort()).toEqual([...base.accounts.keys(), toHex(pk(9))].sort());
    expect(next.accounts.size).toBe(4);
    expect(next.minted).toBe(35n);
    expect(next.offences.has("x")).toBe(true);
    expect(stateRoot(base)).toEqual(root);
    expect(stateRoot(new StateDraft(base).finish())).toEqual(root);
    // Unchanged accounts are shared, not copied.
    expect(next.accounts.get(toHex(pk(1)))).toBe(base.accounts.get(toHex(pk(1))));
  });
});
