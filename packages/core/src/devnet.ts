import { addressFromPublicKey } from "./address.js";
import { utf8 } from "./bytes.js";
import { ByteWriter } from "./byteWriter.js";
import { validateGenesis } from "./genesis.js";
import { sha256 } from "./hash.js";
import { type KeyPair, keyPairFromSeed } from "./keys.js";
import type { Genesis, GenesisAccount } from "./types.js";

/**
 * Printed by every tool that creates or starts a devnet. Devnet keys are a pure function of a seed
 * string that is typed on command lines and committed to scripts, so they are public.
 */
export const DEVNET_WARNING =
  "UNSAFE: devnet keys are derived from a public seed; anyone who knows the seed holds every validator's " +
  "private key. Use them for local development and tests only, never on a network with anything of value.";

/** Tag hashed in front of the seed when deriving devnet keys. */
export const DEVNET_KEY_TAG = "cardio/devnet-key";

/** Most validators `createDevnet` will generate. */
export const MAX_DEVNET_VALIDATORS = 10_000;

/** Values `createDevnet` uses for options left out. */
export const DEVNET_DEFAULTS = {
  chainId: "cardio-devnet",
  /** Stake of each validator when `stakes` is left out. */
  stake: 100n,
  /** Spendable balance of each validator. */
  balance: 1000n,
  slotMs: 1000,
  blockReward: 10n,
  minStake: 10n,
  unbondingDelay: 20,
  maxBlockTxs: 1000,
  maxBlockBytes: 1024 * 1024,
} as const;

/** Options of `createDevnet`. Only `seed`, `validators` and `genesisTime` are required. */
export interface DevnetOptions {
  /** Any string; the same seed always yields the same keys. PUBLIC: see `DEVNET_WARNING`. */
  readonly seed: string;
  /** Number of validator accounts, 1 to `MAX_DEVNET_VALIDATORS`. */
  readonly validators: number;
  /**
   * Stake of validator i (same length as `validators`); default `DEVNET_DEFAULTS.stake` each. A stake
   * below `minStake` makes a funded account that does not forge.
   */
  readonly stakes?: readonly bigint[];
  /** Balance of every validator; default `DEVNET_DEFAULTS.balance`. */
  readonly balance?: bigint;
  /** Unix ms of slot 0. Required: core has no clock, so the caller picks it (usually "now"). */
  readonly genesisTime: number;
  readonly chainId?: string;
  readonly slotMs?: number;
  readonly blockReward?: bigint;
  readonly minStake?: bigint;
  readonly unbondingDelay?: number;
  readonly maxBlockTxs?: number;
  readonly maxBlockBytes?: number;
}

/** A generated devnet. `keys[i]` is validator i; `genesis.accounts` is in canonical order instead. */
export interface Devnet {
  readonly genesis: Genesis;
  readonly keys: readonly KeyPair[];
}

/** Seed of devnet validator `index`: `sha256(utf8("cardio/devnet-key") ‖ utf8(seed) ‖ u32be(index))`. */
export function devnetKeySeed(seed: string, index: number): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index > 0xffff_ffff) {
    throw new RangeError(`devnet key index must be an integer from 0 to 2^32-1, got ${index}`);
  }
  // The index is the fixed-width tail, so (seed, index) pairs never collide.
  return sha256(new ByteWriter(64).raw(utf8(DEVNET_KEY_TAG)).raw(utf8(seed)).u32(index).finish());
}

/** Key pair of devnet validator `index` (see `devnetKeySeed`). UNSAFE outside development. */
export function devnetKeyPair(seed: string, index: number): KeyPair {
  return keyPairFromSeed(devnetKeySeed(seed, index));
}

/**
 * A deterministic development network: `validators` key pairs derived from `seed` and a genesis
 * giving each a balance and a stake. Same options, same devnet, on every machine, so several
 * nodes can be started from one seed without sharing files.
 *
 * UNSAFE outside development: the private keys follow from the seed, which is public
 * (`DEVNET_WARNING`). Throws `RangeError` on malformed options and `GenesisError` if the
 * resulting genesis is invalid (e.g. no stake reaches `minStake`).
 */
export function createDevnet(options: DevnetOptions): Devnet {
  const { seed, validators } = options;
  if (typeof seed !== "string") throw new TypeError("devnet seed must be a string");
  if (!Number.isInteger(validators) || validators < 1 || validators > MAX_DEVNET_VALIDATORS) {
    throw new RangeError(
      `devnet validators must be an integer from 1 to ${MAX_DEVNET_VALIDATORS}, got ${validators}`,
    );
  }
  const stakes = options.stakes ?? Array.from({ length: validators }, () => DEVNET_DEFAULTS.stake);
  if (stakes.length !== validators) {
    throw new RangeError(`devnet stakes has ${stakes.length} entries for ${validators} validators`);
  }
  const balance = options.balance ?? DEVNET_DEFAULTS.balance;

  const keys = Array.from({ length: validators }, (_, i) => devnetKeyPair(seed, i));
  const accounts: GenesisAccount[] = keys.map((key, i) => ({
    address: addressFromPublicKey(key.publicKey),
    balance,
    stake: stakes[i]!,
  }));
  // validateGenesis checks every option that lands in the genesis and sorts the accounts.
  const genesis = validateGenesis({
    chainId: options.chainId ?? DEVNET_DEFAULTS.chainId,
    genesisTime: options.genesisTime,
    slotMs: options.slotMs ?? DEVNET_DEFAULTS.slotMs,
    blockReward: options.blockReward ?? DEVNET_DEFAULTS.blockReward,
    minStake: options.minStake ?? DEVNET_DEFAULTS.minStake,
    unbondingDelay: options.unbondingDelay ?? DEVNET_DEFAULTS.unbondingDelay,
    maxBlockTxs: options.maxBlockTxs ?? DEVNET_DEFAULTS.maxBlockTxs,
    maxBlockBytes: options.maxBlockBytes ?? DEVNET_DEFAULTS.maxBlockBytes,
    accounts,
  });
  return { genesis, keys };
}
