import { fromHex, utf8 } from "./bytes.js";
import { ByteWriter } from "./byteWriter.js";
import { sha256 } from "./hash.js";
import { Domain } from "./params.js";
import type { ChainState } from "./state.js";
import type { Account } from "./types.js";

const leafCache = new WeakMap<Account, Uint8Array>();
const rootCache = new WeakMap<ChainState, Uint8Array>();

/** Canonical bytes of one account's fields. */
export function encodeAccount(a: Account): Uint8Array {
  const w = new ByteWriter(64).u64(a.balance).u64(a.stake).u64n(a.nonce).u32(a.unbonding.length);
  for (const u of a.unbonding) w.u64(u.amount).u64n(u.releaseSlot);
  return w.finish();
}

function leaf(a: Account): Uint8Array {
  let h = leafCache.get(a);
  if (h === undefined) {
    h = sha256(encodeAccount(a));
    leafCache.set(a, h);
  }
  return h;
}

/**
 * The sorted account keys (hex) and their bytes, of the last state rooted. Consecutive states nearly
 * always hold the same accounts, so the next root reuses the order and the decoded keys instead of
 * sorting and decoding every key from hex again (most of a root's cost with a few dozen accounts).
 */
let lastKeys: { hex: string[]; bytes: Uint8Array[] } = { hex: [], bytes: [] };

function sortedKeys(accounts: ReadonlyMap<string, unknown>): { hex: string[]; bytes: Uint8Array[] } {
  const last = lastKeys;
  if (last.hex.length === accounts.size && last.hex.every((k) => accounts.has(k))) return last;
  // Hex keys of equal length sort like the bytes they encode.
  const hex = [...accounts.keys()].sort();
  lastKeys = { hex, bytes: hex.map(fromHex) };
  return lastKeys;
}

/**
 * The state root: SHA-256 over the tag, every account (public key and the hash of its
 * fields) in public-key order, the punished offences in order, and the minted/burned totals.
 * Account hashes are cached per (immutable) account object, so a block that touches k accounts
 * rehashes k leaves plus one pass over 64 bytes per account.
 */
export function stateRoot(state: ChainState): Uint8Array {
  const cached = rootCache.get(state);
  if (cached !== undefined) return cached;
  const keys = sortedKeys(state.accounts);
  const w = new ByteWriter(64 + keys.hex.length * 64);
  w.raw(utf8(Domain.stateRoot)).u32(keys.hex.length);
  for (let i = 0; i < keys.hex.length; i++) {
    w.raw(keys.bytes[i]!).raw(leaf(state.accounts.get(keys.hex[i]!)!));
  }
  const offences = [...state.offences].sort();
  w.u32(offences.length);
  for (const o of offences) w.varBytes(utf8(o));
  w.u64(state.minted).u64(state.burned);
  const root = sha256(w.finish());
  rootCache.set(state, root);
  return root;
}
