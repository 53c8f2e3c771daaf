import { ByteReader, ByteWriter, CodecError, CodecErrorCode, MAX_BLOCK_BYTES_LIMIT } from "@cardio/core";

/*
 * Request/response payloads of the sync protocols (`status`, `blocks_by_range`, `blocks_by_hash`),
 * fixed layouts with the same canonical rules as the chain's own encoding: truncated or trailing
 * bytes are refused.
 */

/** Most blocks in one `blocks_by_range` answer. */
export const MAX_BLOCKS_PER_RANGE = 256;
/** Most hashes in one `blocks_by_hash` request. */
export const MAX_HASHES_PER_REQUEST = 64;
/** A response stops adding blocks past this many bytes, below the 4 MiB frame cap. */
export const MAX_RESPONSE_BYTES = 3 * 1024 * 1024;

/** What a node tells a peer about its chain. */
export interface StatusMessage {
  genesisHash: Uint8Array;
  headHash: Uint8Array;
  height: number;
  slot: number;
}

export function encodeStatus(s: StatusMessage): Uint8Array {
  return new ByteWriter(80)
    .fixed(s.genesisHash, 32)
    .fixed(s.headHash, 32)
    .u64n(s.height)
    .u64n(s.slot)
    .finish();
}

export function decodeStatus(bytes: Uint8Array): StatusMessage {
  const r = new ByteReader(bytes, "status");
  const s = {
    genesisHash: r.fixed(32, "genesisHash"),
    headHash: r.fixed(32, "headHash"),
    height: r.u64n("height"),
    slot: r.u64n("slot"),
  };
  r.end();
  return s;
}

/** `blocks_by_range` request: canonical blocks from `start`, at most `count`. */
export interface RangeRequest {
  start: number;
  count: number;
}

export function encodeRangeRequest(req: RangeRequest): Uint8Array {
  return new ByteWriter(12).u64n(req.start).u32(req.count).finish();
}

export function decodeRangeRequest(bytes: Uint8Array): RangeRequest {
  const r = new ByteReader(bytes, "blocks_by_range request");
  const req = { start: r.u64n("start"), count: r.u32("count") };
  r.end();
  if (req.count === 0 || req.count > MAX_BLOCKS_PER_RANGE) {
    throw new CodecError(
      CodecErrorCode.OUT_OF_RANGE,
      `count must be 1-${MAX_BLOCKS_PER_RANGE}, got ${req.count}`,
    );
  }
  return req;
}

export function encodeHashesRequest(hashes: readonly Uint8Array[]): Uint8Array {
  const w = new ByteWriter(4 + hashes.length * 32).u32(hashes.length);
  for (const h of hashes) w.fixed(h, 32);
  return w.finish();
}

export function decodeHashesRequest(bytes: Uint8Array): Uint8Array[] {
  const r = new ByteReader(bytes, "blocks_by_hash request");
  const n = r.u32("count");
  if (n === 0 || n > MAX_HASHES_PER_REQUEST) {
    throw new CodecError(CodecErrorCode.OUT_OF_RANGE, `count must be 1-${MAX_HASHES_PER_REQUEST}, got ${n}`);
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(r.fixed(32, `hash ${i}`));
  r.end();
  return out;
}

/** A list of encoded blocks: u32 count, then each u32-length-prefixed. */
export function encodeBlockList(blocks: readonly Uint8Array[]): Uint8Array {
  let size = 4;
  for (const b of blocks) size += 4 + b.length;
  const w = new ByteWriter(size).u32(blocks.length);
  for (const b of blocks) w.varBytes(b);
  return w.finish();
}

/**
 * The encoded blocks of a list. They are views into `bytes`, not copies: a response is decoded,
 * imported and dropped at once, so copying each block first would only make garbage.
 */
export function decodeBlockList(bytes: Uint8Array, maxBlocks: number): Uint8Array[] {
  const r = new ByteReader(bytes, "block list");
  const n = r.u32("count");
  if (n > maxBlocks) {
    throw new CodecError(CodecErrorCode.TOO_LARGE, `block list of ${n} exceeds ${maxBlocks}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let at = 4;
  for (let i = 0; i < n; i++) {
    if (at + 4 > bytes.length) {
      throw new CodecError(CodecErrorCode.TRUNCATED, `block list: truncated at the length of block ${i}`, {
        offset: at,
      });
    }
    const len = view.getUint32(at);
    if (len > MAX_BLOCK_BYTES_LIMIT) {
      throw new CodecError(
        CodecErrorCode.TOO_LARGE,
        `block list: block ${i} of ${len} bytes exceeds ${MAX_BLOCK_BYTES_LIMIT}`,
        { offset: at, length: len },
      );
    }
    if (at + 4 + len > bytes.length) {
      throw new CodecError(
        CodecErrorCode.TRUNCATED,
        `block list: truncated at block ${i} (needs ${len} bytes at offset ${at + 4}, ${bytes.length - at - 4} left)`,
        { offset: at + 4 },
      );
    }
    out.push(bytes.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  if (at !== bytes.length) {
    throw new CodecError(
      CodecErrorCode.TRAILING_BYTES,
      `block list: ${bytes.length - at} trailing bytes after offset ${at}`,
      { offset: at, trailing: bytes.length - at },
    );
  }
  return out;
}
