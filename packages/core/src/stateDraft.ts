import { toHex } from "./bytes.js";
import { inheritValidatorSet } from "./lottery.js";
import { type ChainState, EMPTY_ACCOUNT } from "./state.js";
import type { Account, PublicKey } from "./types.js";
import { inheritUnbondingHolders } from "./unbondingHolders.js";

/**
 * A mutable overlay on an immutable state: reads fall through to the base, writes stay in the
 * overlay, and `finish()` builds the next immutable state. Applying a block costs the accounts it
 * touches, plus one map copy at the end.
 */
export class StateDraft {
  private readonly changed = new Map<string, Account>();
  private readonly newOffences: string[] = [];
  minted: bigint;
  burned: bigint;

  constructor(readonly base: ChainState) {
    this.minted = base.minted;
    this.burned = base.burned;
  }

  /** The account of a hex public key as the draft currently sees it. */
  getHex(hex: string): Account {
    return this.changed.get(hex) ?? this.base.accounts.get(hex) ?? EMPTY_ACCOUNT;
  }

  get(publicKey: PublicKey): Account {
    return this.getHex(toHex(publicKey));
  }

  setHex(hex: string, account: Account): void {
    this.changed.set(hex, account);
  }

  set(publicKey: PublicKey, account: Account): void {
    this.setHex(toHex(publicKey), account);
  }

  hasOffence(key: string): boolean {
    return this.base.offences.has(key) || this.newOffences.includes(key);
  }

  addOffence(key: string): void {
    this.newOffences.push(key);
  }

  /** Hex keys of the accounts written so far. */
  changedKeys(): IterableIterator<string> {
    return this.changed.keys();
  }

  /** The next immutable state. */
  finish(): ChainState {
    const accounts = new Map(this.base.accounts);
    let stakesChanged = false;
    for (const [k, v] of this.changed) {
      if (v.stake !== (this.base.accounts.get(k) ?? EMPTY_ACCOUNT).stake) stakesChanged = true;
      accounts.set(k, v);
    }
    const offences =
      this.newOffences.length === 0
        ? this.base.offences
        : new Set([...this.base.offences, ...this.newOffences]);
    const next = { accounts, offences, minted: this.minted, burned: this.burned };
    // Same stakes, same lottery entrants: the next block's draw reuses the base's validator set.
    if (!stakesChanged) inheritValidatorSet(next, this.base);
    inheritUnbondingHolders(next, this.base, this.changed);
    return next;
  }
}
