import { CodecError, CodecErrorCode, MAX_BLOCK_BYTES_LIMIT } from "@cardio/core";
import { describe, expect, it } from "vitest";
import {
  decodeBlockList,
  decodeHashesRequest,
  decodeRangeRequest,
  decodeStatus,
  encodeBlockList,
  encodeHashesRequest,
  encodeRangeRequest,
  encodeStatus,
  MAX_BLOCKS_PER_RANGE,
  MAX_HASHES_PER_REQUEST,
  type StatusMessage,
} from "../../src/sync/messages.js";

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

function codecError(fn: () => unknown): CodecError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CodecError);
    return err as CodecError;
  }
  throw new Error("decoded without error");
}

/** `bytes` with `extra` appended. */
function withTrailing(b: Uint8Array, extra = Uint8Array.of(0)): Uint8Array {
  const out = new Uint8Array(b.length + extra.length);
  out.set(b);
  out.set(extra, b.length);
  return out;
}

const u32 = (n: number) => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
};

describe("status", () => {
  const status: StatusMessage = {
    genesisHash: bytes(32, 1),
    headHash: bytes(32, 2),
    height: 123_456,
    slot: Number.MAX_SAFE_INTEGER,
  };

  it("round-trips, 80 bytes", () => {
    const enc = encodeStatus(status);
    expect(enc.length).toBe(80);
    expect(decodeStatus(enc)).toEqual(status);
    expect(decodeStatus(encodeStatus({ ...status, height: 0, slot: 0 }))).toMatchObject({
      height: 0,
      slot: 0,
    });
  });

  it("refuses truncated and trailing bytes at every length", () => {
    const enc = encodeStatus(status);
    for (let n = 0; n < enc.length; n++) {
      expect(codecError(() => decodeStatus(enc.subarray(0, n))).code).toBe(CodecErrorCode.TRUNCATED);
    }
    expect(codecError(() => decodeStatus(withTrailing(enc))).code).toBe(CodecErrorCode.TRAILING_BYTES);
  });

  it("refuses a height beyond 2^53-1", () => {
    const enc = encodeStatus(status).slice();
    enc.fill(0xff, 64, 72);
    expect(codecError(() => decodeStatus(enc)).code).toBe(CodecErrorCode.OUT_OF_RANGE);
  });

  it("does not encode hashes of the wrong length", () => {
    expect(() => encodeStatus({ ...status, headHash: bytes(31, 0) })).toThrow(RangeError);
  });
});

describe("blocks_by_range request", () => {
  it("round-trips, 12 bytes", () => {
    for (const req of [
      { start: 0, count: 1 },
      { start: 1, count: MAX_BLOCKS_PER_RANGE },
      { start: Number.MAX_SAFE_INTEGER, count: 7 },
    ]) {
      const enc = encodeRangeRequest(req);
      expect(enc.length).toBe(12);
      expect(decodeRangeRequest(enc)).toEqual(req);
    }
  });

  it("refuses truncated and trailing bytes", () => {
    const enc = encodeRangeRequest({ start: 5, count: 10 });
    for (let n = 0; n < enc.length; n++) {
      expect(codecError(() => decodeRangeRequest(enc.subarray(0, n))).code).toBe(CodecErrorCode.TRUNCATED);
    }
    expect(codecError(() => decodeRangeRequest(withTrailing(enc))).code).toBe(CodecErrorCode.TRAILING_BYTES);
  });

  it("refuses a count of 0 or over the cap", () => {
    expect(codecError(() => decodeRangeRequest(encodeRangeRequest({ start: 1, count: 0 }))).code).toBe(
      CodecErrorCode.OUT_OF_RANGE,
    );
    const over = encodeRangeRequest({ start: 1, count: MAX_BLOCKS_PER_RANGE + 1 });
    expect(codecError(() => decodeRangeRequest(over)).code).toBe(CodecErrorCode.OUT_OF_RANGE);
    const huge = encodeRangeRequest({ start: 1, count: 0xffff_ffff });
    expect(codecError(() => decodeRangeRequest(huge)).code).toBe(CodecErrorCode.OUT_OF_RANGE);
  });
});

describe("blocks_by_hash request", () => {
  it("round-trips 1 to the cap", () => {
    for (const n of [1, 2, MAX_HASHES_PER_REQUEST]) {
      const hashes = Array.from({ length: n }, (_, i) => bytes(32, i));
      const enc = encodeHashesRequest(hashes);
      expect(enc.length).toBe(4 + 32 * n);
      expect(decodeHashesRequest(enc)).toEqual(hashes);
    }
  });

  it("refuses truncated and trailing bytes", () => {
    const enc = encodeHashesRequest([bytes(32, 1), bytes(32, 2)]);
    for (let n = 0; n < enc.length; n++) {
      expect(codecError(() => decodeHashesRequest(enc.subarray(0, n))).code).toBe(CodecErrorCode.TRUNCATED);
    }
    expect(codecError(() => decodeHashesRequest(withTrailing(enc))).code).toBe(CodecErrorCode.TRAILING_BYTES);
  });

  it("refuses an empty request and one over the cap, before reading the hashes", () => {
    expect(codecError(() => decodeHashesRequest(u32(0))).code).toBe(CodecErrorCode.OUT_OF_RANGE);
    const over = encodeHashesRequest(Array.from({ length: MAX_HASHES_PER_REQUEST + 1 }, () => bytes(32, 0)));
    expect(codecError(() => decodeHashesRequest(over)).code).toBe(CodecErrorCode.OUT_OF_RANGE);
    // A count of 2^32-1 with no hashes behind it is refused by the cap, not by allocating.
    expect(codecError(() => decodeHashesRequest(u32(0xffff_ffff))).code).toBe(CodecErrorCode.OUT_OF_RANGE);
  });
});

describe("block list", () => {
  const list = [bytes(0, 0), bytes(1, 7), bytes(300, 9)];

  it("round-trips, including empty lists and empty entries", () => {
    expect(decodeBlockList(encodeBlockList([]), 10)).toEqual([]);
    expect(encodeBlockList([]).length).toBe(4);
    const enc = encodeBlockList(list);
    expect(enc.length).toBe(4 + 3 * 4 + 301);
    expect(decodeBlockList(enc, 3)).toEqual(list);
  });

  it("refuses truncated and trailing bytes at every length", () => {
    const enc = encodeBlockList(list);
    for (let n = 0; n < enc.length; n++) {
      expect(codecError(() => decodeBlockList(enc.subarray(0, n), 10)).code).toBe(CodecErrorCode.TRUNCATED);
    }
    expect(codecError(() => decodeBlockList(withTrailing(enc), 10)).code).toBe(CodecErrorCode.TRAILING_BYTES);
  });

  it("refuses more blocks than the caller allows", () => {
    const enc = encodeBlockList(list);
    expect(codecError(() => decodeBlockList(enc, 2)).code).toBe(CodecErrorCode.TOO_LARGE);
    // A count lie is refused by the cap before anything is read.
    expect(codecError(() => decodeBlockList(u32(0xffff_ffff), MAX_BLOCKS_PER_RANGE)).code).toBe(
      CodecErrorCode.TOO_LARGE,
    );
  });

  it("refuses an entry whose length prefix exceeds the block size cap", () => {
    const oversized = new Uint8Array([...u32(1), ...u32(MAX_BLOCK_BYTES_LIMIT + 1)]);
    expect(codecError(() => decodeBlockList(oversized, 1)).code).toBe(CodecErrorCode.TOO_LARGE);
    // An entry length that runs past the end is truncated, however small the claim.
    const short = new Uint8Array([...u32(1), ...u32(10), 1, 2, 3]);
    expect(codecError(() => decodeBlockList(short, 1)).code).toBe(CodecErrorCode.TRUNCATED);
  });
});
