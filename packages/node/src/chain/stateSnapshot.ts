import { type ChainState, fromHex, toHex } from "@cardio/core";

/**
 * A saved post-state of one stored block, so a restart rebuilds the chain from there instead of
 * re-executing every block since genesis. It is a cache, never a source of truth: `Chain.start` uses
 * it only if the block it names is stored, canonical, and commits (header state root) to exactly this
 * state; anything else — unreadable, another version, a block not on the stored chain — and the chain
 * replays from genesis as if there were none. So it needs no atomicity with the block writes.
 */
export interface StateSnapshot {
  /** The block whose post-state this is. */
  hash: Uint8Array;
  height: number;
  state: ChainState;
}

/** Store metadata name (`ChainStore.putMeta`) of the snapshot. */
export const STATE_SNAPSHOT_META = "stateSnapshot";
const VERSION = 1;

interface SnapshotJson {
  v: number;
  hash: string;
  height: number;
  /** [hex public key, balance, stake, nonce, [[amount, releaseSlot], …]] */
  accounts: Array<[string, string, string, number, Array<[string, number]>]>;
  offences: string[];
  minted: string;
  burned: string;
}

/** JSON (amounts as decimal strings): compact enough, and trivially checked by `decodeStateSnapshot`. */
export function encodeStateSnapshot(s: StateSnapshot): Uint8Array {
  const json: SnapshotJson = {
    v: VERSION,
    hash: toHex(s.hash),
    height: s.height,
    accounts: [...s.state.accounts].map(([hex, a]) => [
      hex,
      a.balance.toString(),
      a.stake.toString(),
      a.nonce,
      a.unbonding.map((u) => [u.amount.toString(), u.releaseSlot]),
    ]),
    offences: [...s.state.offences],
    minted: s.state.minted.toString(),
    burned: s.state.burned.toString(),
  };
  return new TextEncoder().encode(JSON.stringify(json));
}

/** The snapshot in `bytes`, or undefined if it is not one this code wrote (any shape error). */
export function decodeStateSnapshot(bytes: Uint8Array): StateSnapshot | undefined {
  try {
    const j = JSON.parse(new TextDecoder().decode(bytes)) as SnapshotJson;
    if (j.v !== VERSION || !Number.isSafeInteger(j.height) || j.height < 0) return undefined;
    const hash = fromHex(j.hash);
    if (hash.length !== 32) return undefined;
    const accounts = new Map(
      j.accounts.map(([hex, balance, stake, nonce, unbonding]) => [
        hex,
        {
          balance: BigInt(balance),
          stake: BigInt(stake),
          nonce,
          unbonding: unbonding.map(([amount, releaseSlot]) => ({ amount: BigInt(amount), releaseSlot })),
        },
      ]),
    );
    const state: ChainState = {
      accounts,
      offences: new Set(j.offences),
      minted: BigInt(j.minted),
      burned: BigInt(j.burned),
    };
    return { hash, height: j.height, state };
  } catch {
    return undefined;
  }
}
