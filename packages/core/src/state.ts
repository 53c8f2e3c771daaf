import { toHex } from "./bytes.js";
import type { Account, PublicKey } from "./types.js";

/**
 * The state after a block: every account by hex public key, the equivocations already punished, and
 * the running totals of minted and burned tokens (so the supply can always be audited).
 *
 * States are immutable values: the transition builds a new state sharing unchanged accounts with its
 * parent, so the fork tree can hold the state of every recent block cheaply. Caches derived from a
 * state (validator set, root) are keyed on the object in WeakMaps.
 */
export interface ChainState {
  readonly accounts: ReadonlyMap<string, Account>;
  /** `"<proposer hex>:<slot>"` of every equivocation already slashed; evidence counts once per offence. */
  readonly offences: ReadonlySet<string>;
  /** Tokens created by block rewards since genesis. */
  readonly minted: bigint;
  /** Tokens destroyed by slashing since genesis. */
  readonly burned: bigint;
}

/** An account that has never received anything. */
export const EMPTY_ACCOUNT: Account = Object.freeze({ balance: 0n, stake: 0n, unbonding: [], nonce: 0 });

/** The account of `publicKey`, or the empty account. */
export function getAccount(state: ChainState, publicKey: PublicKey): Account {
  return state.accounts.get(toHex(publicKey)) ?? EMPTY_ACCOUNT;
}

/** Sum of every balance, stake and unbonding amount: the tokens in existence. */
export function totalSupply(state: ChainState): bigint {
  let sum = 0n;
  for (const a of state.accounts.values()) {
    sum += a.balance + a.stake;
    for (const u of a.unbonding) sum += u.amount;
  }
  return sum;
}

/** Key of an offence in `ChainState.offences`. */
export function offenceKey(proposer: PublicKey, slot: number): string {
  return `${toHex(proposer)}:${slot}`;
}
