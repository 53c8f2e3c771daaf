/** Protocol constants that are not per-chain (per-chain values live in `ChainConfig`). */

export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

/** Encoded size of a header without its signature: height, slot, 4 hashes/keys. */
export const UNSIGNED_HEADER_BYTES = 8 + 8 + 32 * 4;
/** Encoded size of a signed header. */
export const SIGNED_HEADER_BYTES = UNSIGNED_HEADER_BYTES + SIGNATURE_BYTES;

/** Most bytes of one encoded transaction (the largest kind, evidence, takes 529). */
export const MAX_TX_BYTES = 1024;
/** Upper bound a genesis may set for `maxBlockBytes`; also the cap of any decoder. */
export const MAX_BLOCK_BYTES_LIMIT = 4 * 1024 * 1024;
/** Upper bound a genesis may set for `maxBlockTxs`. */
export const MAX_BLOCK_TXS_LIMIT = 20_000;

/** Smallest and largest heart rate a `bpm` transaction may carry. */
export const MIN_BPM = 1;
export const MAX_BPM = 300;

/** Largest amount (u64). */
export const MAX_AMOUNT = 0xffff_ffff_ffff_ffffn;

/** Domain-separation tags: each kind of signed or hashed object has its own. */
export const Domain = {
  block: "cardio/block",
  tx: "cardio/tx",
  lottery: "cardio/lottery",
  txRoot: "cardio/txroot",
  stateRoot: "cardio/state",
  genesis: "cardio/genesis",
} as const;

/** Gossip may deliver a block this many ms before its slot starts by our clock. */
export const MAX_CLOCK_DISPARITY_MS = 500;
