import { hash as nodeHash } from "node:crypto";

/** Length in bytes of every hash in cardio (SHA-256). */
export const HASH_BYTES = 32;

/**
 * SHA-256 of `data`. Uses the one-shot `crypto.hash`, measured ~1.6x faster than `createHash` for small
 * inputs. The digest is taken as hex and decoded (from Buffer's shared pool) rather than as a "buffer":
 * the latter allocates a fresh off-heap ArrayBuffer per call, which cost ~40 % more per small hash.
 */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.from(nodeHash("sha256", data, "hex"), "hex"));
}
