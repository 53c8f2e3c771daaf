import { utf8 } from "./bytes.js";
import { ByteWriter } from "./byteWriter.js";
import { sha256 } from "./hash.js";
import { Domain } from "./params.js";
import type { Hash } from "./types.js";

/**
 * Commitment to a block's transactions: SHA-256 over the tag, the count and each transaction id in
 * order. A flat hash, not a Merkle tree: cardio has no light clients that would need inclusion proofs.
 */
export function txRoot(txIds: readonly Hash[]): Hash {
  const w = new ByteWriter(32 + txIds.length * 32).raw(utf8(Domain.txRoot)).u32(txIds.length);
  for (const id of txIds) w.fixed(id, 32);
  return sha256(w.finish());
}
