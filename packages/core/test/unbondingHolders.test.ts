import { describe, expect, it } from "vitest";
import { toHex } from "../src/bytes.js";
import { StateDraft } from "../src/stateDraft.js";
import { unbondingHolders } from "../src/unbondingHolders.js";
import { makeState, pk } from "./fixtures.js";

const base = () =>
  makeState([
    { key: 0, balance: 10n, stake: 100n },
    { key: 1, balance: 10n, unbonding: [{ amount: 5n, releaseSlot: 9 }] },
    { key: 2, balance: 10n },
  ]);

describe("unbondingHolders", () => {
  it("finds the accounts with unbonding entries of a state never seen before", () => {
    expect([...unbondingHolders(base())]).toEqual([toHex(pk(1))]);
  });

  it("is inherited by the next state: shared when no account starts or ends unbonding", () => {
    const s0 = base();
    const holders = unbondingHolders(s0);
    const draft = new StateDraft(s0);
    draft.set(pk(2), { ...draft.get(pk(2)), balance: 11n });
    const s1 = draft.finish();
    expect(unbondingHolders(s1)).toBe(holders);
  });

  it("follows accounts that start and finish unbonding, new accounts included", () => {
    const s0 = base();
    unbondingHolders(s0);
    const draft = new StateDraft(s0);
    draft.set(pk(1), { ...draft.get(pk(1)), unbonding: [] });
    draft.set(pk(0), { ...draft.get(pk(0)), unbonding: [{ amount: 1n, releaseSlot: 12 }] });
    draft.set(pk(7), { balance: 0n, stake: 0n, nonce: 0, unbonding: [{ amount: 2n, releaseSlot: 3 }] });
    const s1 = draft.finish();
    expect([...unbondingHolders(s1)].sort()).toEqual([toHex(pk(0)), toHex(pk(7))].sort());
    // The base's own set is untouched.
    expect([...unbondingHolders(s0)]).toEqual([toHex(pk(1))]);
  });
});
