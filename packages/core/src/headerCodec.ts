import { ByteReader } from "./byteReader.js";
import { ByteWriter } from "./byteWriter.js";
import { sha256 } from "./hash.js";
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, SIGNED_HEADER_BYTES, UNSIGNED_HEADER_BYTES } from "./params.js";
import type { BlockHeader, Hash, SignedHeader } from "./types.js";

function writeUnsigned(w: ByteWriter, h: BlockHeader): ByteWriter {
  return w
    .u64n(h.height)
    .u64n(h.slot)
    .fixed(h.parentHash, 32)
    .fixed(h.proposer, PUBLIC_KEY_BYTES)
    .fixed(h.txRoot, 32)
    .fixed(h.stateRoot, 32);
}

/** Canonical bytes of a header without its signature: what the proposer signs and the block id hashes. */
export function encodeUnsignedHeader(h: BlockHeader): Uint8Array {
  return writeUnsigned(new ByteWriter(UNSIGNED_HEADER_BYTES), h).finish();
}

/** Canonical bytes of a signed header (fixed size, `SIGNED_HEADER_BYTES`). */
export function encodeHeader(h: SignedHeader): Uint8Array {
  return writeUnsigned(new ByteWriter(SIGNED_HEADER_BYTES), h).fixed(h.signature, SIGNATURE_BYTES).finish();
}

/** Reads a signed header at the reader's position. */
export function readHeader(r: ByteReader): SignedHeader {
  const height = r.u64n("height");
  const slot = r.u64n("slot");
  const parentHash = r.fixed(32, "parentHash");
  const proposer = r.fixed(PUBLIC_KEY_BYTES, "proposer");
  const txRoot = r.fixed(32, "txRoot");
  const stateRoot = r.fixed(32, "stateRoot");
  const signature = r.fixed(SIGNATURE_BYTES, "signature");
  return { height, slot, parentHash, proposer, txRoot, stateRoot, signature };
}

/** Decodes exactly one signed header; throws `CodecError` on any other input. */
export function decodeHeader(bytes: Uint8Array): SignedHeader {
  const r = new ByteReader(bytes, "header");
  const h = readHeader(r);
  r.end();
  return h;
}

/** The block id: SHA-256 of the unsigned header, so it commits to everything but the signature. */
export function headerHash(h: BlockHeader): Hash {
  return sha256(encodeUnsignedHeader(h));
}
