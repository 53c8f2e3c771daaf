import { fromHex, utf8 } from "./bytes.js";
import { sha256 } from "./hash.js";
import { Domain } from "./params.js";
import type { ChainState } from "./state.js";
import type { Hash, PublicKey } from "./types.js";

/**
 * The lottery's entrants for one parent state: accounts with stake ≥ minStake in canonical order
 * (public-key bytes), and the running stake total after each — built once per state so each draw is
 * one modulo and a binary search.
 */
export interface ValidatorSet {
  readonly publicKeys: readonly PublicKey[];
  readonly hexKeys: readonly string[];
  readonly stakes: readonly bigint[];
  /** `cumulative[i]` = stakes[0] + … + stakes[i]. */
  readonly cumulative: readonly bigint[];
  readonly totalStake: bigint;
}

const setCache = new WeakMap<ChainState, { minStake: bigint; set: ValidatorSet }>();

/** Builds the validator set of a state (prefix sums included). O(n log n); use `validatorSet` to cache it. */
export function buildValidatorSet(state: ChainState, minStake: bigint): ValidatorSet {
  const hexKeys: string[] = [];
  for (const [hex, a] of state.accounts) if (a.stake >= minStake && a.stake > 0n) hexKeys.push(hex);
  // Equal-length lowercase hex sorts exactly like the bytes it encodes.
  hexKeys.sort();
  const stakes: bigint[] = new Array(hexKeys.length);
  const cumulative: bigint[] = new Array(hexKeys.length);
  let total = 0n;
  for (let i = 0; i < hexKeys.length; i++) {
    const stake = state.accounts.get(hexKeys[i]!)!.stake;
    stakes[i] = stake;
    total += stake;
    cumulative[i] = total;
  }
  return { publicKeys: hexKeys.map(fromHex), hexKeys, stakes, cumulative, totalStake: total };
}

/** States whose every stake equals that of another state (see `inheritValidatorSet`). */
const sameStakes = new WeakMap<ChainState, ChainState>();

/**
 * Records that every account of `next` has the stake it has in `base` (no stake changed between them),
 * so `next` has `base`'s validator set and need not build its own. Most blocks change balances and
 * nonces only; `StateDraft.finish` calls this for them.
 */
export function inheritValidatorSet(next: ChainState, base: ChainState): void {
  sameStakes.set(next, base);
}

/** The validator set of `state`, built at most once per state object (or shared with its base). */
export function validatorSet(state: ChainState, minStake: bigint): ValidatorSet {
  const cached = setCache.get(state);
  if (cached !== undefined && cached.minStake === minStake) return cached.set;
  const base = sameStakes.get(state);
  const inherited = base === undefined ? undefined : setCache.get(base);
  const set =
    inherited !== undefined && inherited.minStake === minStake
      ? inherited.set
      : buildValidatorSet(state, minStake);
  setCache.set(state, { minStake, set });
  return set;
}

const LOTTERY_TAG = utf8(Domain.lottery);
const SLOT_OFFSET = LOTTERY_TAG.length + 32;
/** The seed preimage, reused: written and hashed synchronously, so no call can see another's bytes. */
const seedInput = new Uint8Array(SLOT_OFFSET + 8);
const seedInputView = new DataView(seedInput.buffer);
seedInput.set(LOTTERY_TAG);

/** `sha256("cardio/lottery" ‖ parentHash ‖ uint64be(slot))`. */
export function lotterySeed(parentHash: Hash, slot: number): Uint8Array {
  // Hand-written rather than through ByteWriter: this runs once per slot per candidate block and per
  // forging check, and the generic writer (fresh buffer, tag re-encoding, BigInt slot) cost ~2x.
  if (parentHash.length !== 32) throw new RangeError(`expected 32 bytes, got ${parentHash.length}`);
  if (!Number.isSafeInteger(slot) || slot < 0) throw new RangeError(`not a u53 integer: ${slot}`);
  seedInput.set(parentHash, LOTTERY_TAG.length);
  seedInputView.setUint32(SLOT_OFFSET, Math.floor(slot / 0x1_0000_0000));
  seedInputView.setUint32(SLOT_OFFSET + 4, slot >>> 0);
  return sha256(seedInput);
}

/** The seed as an unsigned big-endian integer. */
function seedValue(seed: Uint8Array): bigint {
  if (seed.length !== 32)
    return BigInt(`0x${Buffer.from(seed.buffer, seed.byteOffset, seed.byteLength).toString("hex")}`);
  // Four 64-bit words: ~2x faster than parsing a 64-digit hex string.
  const v = new DataView(seed.buffer, seed.byteOffset, 32);
  return (
    (v.getBigUint64(0) << 192n) |
    (v.getBigUint64(8) << 128n) |
    (v.getBigUint64(16) << 64n) |
    v.getBigUint64(24)
  );
}

/**
 * Index of the winner for a 32-byte seed: r = seed mod totalStake, then the first validator whose
 * cumulative stake exceeds r — so each wins with probability stake / totalStake. Returns -1 for an
 * empty set.
 */
export function drawIndex(set: ValidatorSet, seed: Uint8Array): number {
  if (set.totalStake === 0n) return -1;
  const r = seedValue(seed) % set.totalStake;
  const c = set.cumulative;
  let lo = 0;
  let hi = c.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (c[mid]! > r) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The winner of `slot` on a parent (its hash and post-state), or undefined when no one has stake. */
export function lotteryWinner(
  parentState: ChainState,
  parentHash: Hash,
  slot: number,
  minStake: bigint,
): { publicKey: PublicKey; hex: string; index: number } | undefined {
  const set = validatorSet(parentState, minStake);
  const index = drawIndex(set, lotterySeed(parentHash, slot));
  if (index < 0) return undefined;
  return { publicKey: set.publicKeys[index]!, hex: set.hexKeys[index]!, index };
}
