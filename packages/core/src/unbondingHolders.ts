import type { ChainState } from "./state.js";
import type { Account } from "./types.js";

/**
 * Hex keys of the accounts of each state that hold unbonding entries, per (immutable) state object.
 * Every block releases matured unbonding, and only these accounts can have any: scanning every
 * account instead made each block cost O(accounts) before its first transaction.
 */
const holdersCache = new WeakMap<ChainState, ReadonlySet<string>>();

/** The accounts of `state` with at least one unbonding entry (computed once per state, then inherited). */
export function unbondingHolders(state: ChainState): ReadonlySet<string> {
  let holders = holdersCache.get(state);
  if (holders === undefined) {
    const found = new Set<string>();
    for (const [hex, a] of state.accounts) if (a.unbonding.length > 0) found.add(hex);
    holders = found;
    holdersCache.set(state, holders);
  }
  return holders;
}

/**
 * Records the holders of `next`, a state that differs from `base` only in the accounts `changed`,
 * from those of `base`, when they are known (else `next` scans for its own once, if ever asked).
 * Shares `base`'s set when no account started or finished unbonding, as most blocks do.
 */
export function inheritUnbondingHolders(
  next: ChainState,
  base: ChainState,
  changed: ReadonlyMap<string, Account>,
): void {
  const previous = holdersCache.get(base);
  if (previous === undefined) return;
  let holders: Set<string> | undefined;
  for (const [hex, a] of changed) {
    const holds = a.unbonding.length > 0;
    if (holds === previous.has(hex)) continue;
    holders ??= new Set(previous);
    if (holds) holders.add(hex);
    else holders.delete(hex);
  }
  holdersCache.set(next, holders ?? previous);
}
