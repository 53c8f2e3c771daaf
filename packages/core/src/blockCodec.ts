import { ByteReader } from "./byteReader.js";
import { ByteWriter } from "./byteWriter.js";
import { CodecError, CodecErrorCode } from "./errors.js";
import { encodeHeader, readHeader } from "./headerCodec.js";
import { MAX_BLOCK_BYTES_LIMIT, MAX_TX_BYTES, SIGNED_HEADER_BYTES } from "./params.js";
import { decodeTx, encodeTx } from "./txCodec.js";
import type { Block } from "./types.js";

/** Canonical bytes of a block: signed header, u32 transaction count, each transaction u32-length-prefixed. */
export function encodeBlock(block: Block): Uint8Array {
  const w = new ByteWriter(SIGNED_HEADER_BYTES + 4 + block.txs.length * 160);
  w.raw(encodeHeader(block.header)).u32(block.txs.length);
  for (const tx of block.txs) w.varBytes(encodeTx(tx));
  return w.finish();
}

/**
 * Decodes exactly one block of at most `maxBytes` bytes (default: the protocol's hard cap). The size is
 * checked before any parsing so oversized input costs nothing.
 */
export function decodeBlock(bytes: Uint8Array, maxBytes = MAX_BLOCK_BYTES_LIMIT): Block {
  if (bytes.length > maxBytes) {
    throw new CodecError(CodecErrorCode.TOO_LARGE, `block: ${bytes.length} bytes exceeds ${maxBytes}`, {
      length: bytes.length,
      max: maxBytes,
    });
  }
  const r = new ByteReader(bytes, "block");
  const header = readHeader(r);
  const count = r.u32("tx count");
  // Each tx takes at least 4 bytes of length prefix: a count beyond that is a lie, refuse before allocating.
  if (count * 4 > r.remaining) {
    throw new CodecError(CodecErrorCode.TRUNCATED, `block: ${count} txs cannot fit in ${r.remaining} bytes`, {
      count,
    });
  }
  const txs = [];
  for (let i = 0; i < count; i++) {
    const raw = r.varBytes(`tx ${i}`, MAX_TX_BYTES);
    try {
      txs.push(decodeTx(raw));
    } catch (err) {
      if (err instanceof CodecError) {
        throw new CodecError(err.code, `block: tx ${i}: ${err.message}`, { ...err.meta, index: i });
      }
      throw err;
    }
  }
  r.end();
  return { header, txs };
}
