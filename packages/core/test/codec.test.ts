import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBlock, encodeBlock } from "../src/blockCodec.js";
import { concatBytes } from "../src/bytes.js";
import { ByteWriter } from "../src/byteWriter.js";
import { CodecError, CodecErrorCode } from "../src/errors.js";
import { decodeHeader, encodeHeader, encodeUnsignedHeader, headerHash } from "../src/headerCodec.js";
import {
  MAX_AMOUNT,
  MAX_BLOCK_BYTES_LIMIT,
  MAX_TX_BYTES,
  SIGNED_HEADER_BYTES,
  UNSIGNED_HEADER_BYTES,
} from "../src/params.js";
import { decodeTx, encodeTx, encodeTxBody, txId } from "../src/txCodec.js";
import type { Block, SignedHeader, SignedTx } from "../src/types.js";
import { TxKind } from "../src/types.js";
import {
  bpm,
  equivocation,
  evidence,
  expectError,
  header,
  key,
  pk,
  stake,
  transfer,
  unstake,
} from "./fixtures.js";

const [hA, hB] = equivocation(key(1), 7);
const SAMPLE_TXS: Record<string, SignedTx> = {
  transfer: transfer(key(0), pk(1), 12_345n, 3, 7n),
  stake: stake(key(0), 500n, 0, 1n),
  unstake: unstake(key(2), MAX_AMOUNT, Number.MAX_SAFE_INTEGER, MAX_AMOUNT),
  bpm: bpm(key(3), 72, 9, 0n),
  evidence: evidence(key(4), hA, hB, 1, 2n),
};
const SAMPLE_HEADER = header(key(0), { height: 42, slot: 99, tag: "sample" });
const SAMPLE_BLOCK: Block = { header: SAMPLE_HEADER, txs: Object.values(SAMPLE_TXS) };

function codecError(fn: () => unknown, code: string): CodecError {
  return expectError(fn, CodecError, code, "reject");
}

function withByte(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[at] = value;
  return out;
}

function u64be(v: bigint): Uint8Array {
  return new ByteWriter(8).u64(v).finish();
}

describe("tx codec", () => {
  it.each(Object.entries(SAMPLE_TXS))("round-trips a %s tx", (_kind, tx) => {
    const bytes = encodeTx(tx);
    const decoded = decodeTx(bytes);
    expect(decoded).toEqual(tx);
    expect(encodeTx(decoded)).toEqual(bytes);
    expect(txId(decoded)).toEqual(txId(tx));
    // The signed encoding is the body followed by the signature.
    expect(bytes).toEqual(concatBytes(encodeTxBody(tx), tx.signature));
    expect(bytes[0]).toBe(TxKind[tx.kind]);
  });

  it("has the documented sizes", () => {
    expect(encodeTx(SAMPLE_TXS.transfer!).length).toBe(1 + 32 + 8 + 8 + 32 + 8 + 64);
    expect(encodeTx(SAMPLE_TXS.stake!).length).toBe(1 + 32 + 8 + 8 + 8 + 64);
    expect(encodeTx(SAMPLE_TXS.bpm!).length).toBe(1 + 32 + 8 + 8 + 2 + 64);
    // The largest kind, as params.ts says.
    expect(encodeTx(SAMPLE_TXS.evidence!).length).toBe(529);
    expect(encodeTx(SAMPLE_TXS.evidence!).length).toBeLessThanOrEqual(MAX_TX_BYTES);
  });

  it.each(Object.entries(SAMPLE_TXS))("rejects every truncation of a %s tx", (_kind, tx) => {
    const bytes = encodeTx(tx);
    for (let len = 0; len < bytes.length; len++) {
      codecError(() => decodeTx(bytes.subarray(0, len)), CodecErrorCode.TRUNCATED);
    }
  });

  it("names the field where a tx is truncated", () => {
    const bytes = encodeTx(SAMPLE_TXS.transfer!);
    expect(() => decodeTx(bytes.subarray(0, 0))).toThrow(/truncated at kind/);
    expect(() => decodeTx(bytes.subarray(0, 10))).toThrow(/truncated at from/);
    expect(() => decodeTx(bytes.subarray(0, 40))).toThrow(/truncated at nonce/);
    expect(() => decodeTx(bytes.subarray(0, 45))).toThrow(/truncated at fee/);
    expect(() => decodeTx(bytes.subarray(0, 50))).toThrow(/truncated at to/);
    expect(() => decodeTx(bytes.subarray(0, 85))).toThrow(/truncated at amount/);
    expect(() => decodeTx(bytes.subarray(0, 100))).toThrow(/truncated at signature/);
    const err = codecError(() => decodeTx(bytes.subarray(0, 85)), CodecErrorCode.TRUNCATED);
    expect(err.meta).toMatchObject({ what: "tx", field: "amount", offset: 81 });
  });

  it("rejects trailing bytes", () => {
    for (const tx of Object.values(SAMPLE_TXS)) {
      const err = codecError(
        () => decodeTx(concatBytes(encodeTx(tx), Uint8Array.of(0))),
        CodecErrorCode.TRAILING_BYTES,
      );
      expect(err.message).toMatch(/tx: 1 trailing bytes/);
    }
  });

  it("rejects unknown tx kinds", () => {
    const bytes = encodeTx(SAMPLE_TXS.evidence!);
    for (const tag of [5, 6, 0x7f, 0xff]) {
      const err = codecError(() => decodeTx(withByte(bytes, 0, tag)), CodecErrorCode.UNKNOWN_KIND);
      expect(err.message).toMatch(`unknown kind ${tag}`);
      expect(err.meta).toMatchObject({ kind: tag });
    }
  });

  it("rejects a tx larger than MAX_TX_BYTES before parsing it", () => {
    // Garbage that would fail as an unknown kind if it were parsed.
    const err = codecError(
      () => decodeTx(withByte(new Uint8Array(MAX_TX_BYTES + 1), 0, 0xff)),
      CodecErrorCode.TOO_LARGE,
    );
    expect(err.message).toMatch(`${MAX_TX_BYTES + 1} bytes exceeds ${MAX_TX_BYTES}`);
    // At the limit the size check passes and the parser runs.
    codecError(() => decodeTx(withByte(new Uint8Array(MAX_TX_BYTES), 0, 0xff)), CodecErrorCode.UNKNOWN_KIND);
  });

  it("rejects a nonce above 2^53-1 and accepts 2^53-1", () => {
    const bytes = encodeTx(SAMPLE_TXS.stake!);
    const at = 1 + 32;
    const over = concatBytes(bytes.subarray(0, at), u64be(2n ** 53n), bytes.subarray(at + 8));
    const err = codecError(() => decodeTx(over), CodecErrorCode.OUT_OF_RANGE);
    expect(err.message).toMatch(/nonce/);
    expect(err.meta).toMatchObject({ field: "nonce", offset: at });
    const max = concatBytes(bytes.subarray(0, at), u64be(2n ** 53n - 1n), bytes.subarray(at + 8));
    expect(decodeTx(max).nonce).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("decodes any u64 amount and fee", () => {
    const tx = unstake(key(0), MAX_AMOUNT, 0, MAX_AMOUNT);
    expect(decodeTx(encodeTx(tx))).toEqual(tx);
  });

  it("refuses to encode values outside the wire ranges", () => {
    expect(() => encodeTx({ ...SAMPLE_TXS.stake!, nonce: 2 ** 53 })).toThrow(RangeError);
    expect(() => encodeTx({ ...SAMPLE_TXS.stake!, nonce: -1 })).toThrow(RangeError);
    expect(() => encodeTx({ ...SAMPLE_TXS.stake!, fee: -1n })).toThrow(RangeError);
    expect(() => encodeTx({ ...SAMPLE_TXS.stake!, fee: MAX_AMOUNT + 1n })).toThrow(RangeError);
    expect(() => encodeTx({ ...SAMPLE_TXS.stake!, from: new Uint8Array(31) })).toThrow(RangeError);
    expect(() => encodeTx({ ...SAMPLE_TXS.stake!, signature: new Uint8Array(63) })).toThrow(RangeError);
  });
});

describe("header codec", () => {
  it("round-trips a header", () => {
    const bytes = encodeHeader(SAMPLE_HEADER);
    expect(bytes.length).toBe(SIGNED_HEADER_BYTES);
    expect(encodeUnsignedHeader(SAMPLE_HEADER).length).toBe(UNSIGNED_HEADER_BYTES);
    const decoded = decodeHeader(bytes);
    expect(decoded).toEqual(SAMPLE_HEADER);
    expect(encodeHeader(decoded)).toEqual(bytes);
    expect(headerHash(decoded)).toEqual(headerHash(SAMPLE_HEADER));
  });

  it("hash covers everything but the signature", () => {
    const resigned: SignedHeader = { ...SAMPLE_HEADER, signature: new Uint8Array(64) };
    expect(headerHash(resigned)).toEqual(headerHash(SAMPLE_HEADER));
    expect(headerHash({ ...SAMPLE_HEADER, slot: SAMPLE_HEADER.slot + 1 })).not.toEqual(
      headerHash(SAMPLE_HEADER),
    );
  });

  it("rejects every truncation and trailing bytes", () => {
    const bytes = encodeHeader(SAMPLE_HEADER);
    for (let len = 0; len < bytes.length; len++) {
      codecError(() => decodeHeader(bytes.subarray(0, len)), CodecErrorCode.TRUNCATED);
    }
    codecError(() => decodeHeader(concatBytes(bytes, Uint8Array.of(1))), CodecErrorCode.TRAILING_BYTES);
  });

  it("names the truncated field", () => {
    const bytes = encodeHeader(SAMPLE_HEADER);
    const fields: Array<[number, string]> = [
      [0, "height"],
      [8, "slot"],
      [16, "parentHash"],
      [48, "proposer"],
      [80, "txRoot"],
      [112, "stateRoot"],
      [144, "signature"],
    ];
    for (const [len, field] of fields) {
      const err = codecError(() => decodeHeader(bytes.subarray(0, len + 1)), CodecErrorCode.TRUNCATED);
      expect(err.message).toMatch(`header: truncated at ${field}`);
      expect(err.meta).toMatchObject({ what: "header", field, offset: len });
    }
  });

  it("rejects a height or slot above 2^53-1", () => {
    const bytes = encodeHeader(SAMPLE_HEADER);
    for (const [at, field] of [
      [0, "height"],
      [8, "slot"],
    ] as const) {
      for (const v of [2n ** 53n, 2n ** 64n - 1n]) {
        const mutated = concatBytes(bytes.subarray(0, at), u64be(v), bytes.subarray(at + 8));
        const err = codecError(() => decodeHeader(mutated), CodecErrorCode.OUT_OF_RANGE);
        expect(err.message).toMatch(`header: ${field} ${v} exceeds 2^53-1`);
      }
      const max = concatBytes(bytes.subarray(0, at), u64be(2n ** 53n - 1n), bytes.subarray(at + 8));
      expect(decodeHeader(max)[field]).toBe(Number.MAX_SAFE_INTEGER);
    }
  });
});

describe("block codec", () => {
  it("round-trips a block with every tx kind, and an empty block", () => {
    for (const block of [SAMPLE_BLOCK, { header: SAMPLE_HEADER, txs: [] }]) {
      const bytes = encodeBlock(block);
      const decoded = decodeBlock(bytes);
      expect(decoded).toEqual(block);
      expect(encodeBlock(decoded)).toEqual(bytes);
    }
    expect(encodeBlock({ header: SAMPLE_HEADER, txs: [] }).length).toBe(SIGNED_HEADER_BYTES + 4);
  });

  it("rejects every truncation", () => {
    const bytes = encodeBlock(SAMPLE_BLOCK);
    for (let len = 0; len < bytes.length; len++) {
      codecError(() => decodeBlock(bytes.subarray(0, len)), CodecErrorCode.TRUNCATED);
    }
  });

  it("rejects trailing bytes", () => {
    const err = codecError(
      () => decodeBlock(concatBytes(encodeBlock(SAMPLE_BLOCK), Uint8Array.of(0, 0))),
      CodecErrorCode.TRAILING_BYTES,
    );
    expect(err.message).toMatch(/block: 2 trailing bytes/);
  });

  it("rejects a block larger than maxBytes before parsing it", () => {
    const bytes = encodeBlock(SAMPLE_BLOCK);
    expect(decodeBlock(bytes, bytes.length)).toEqual(SAMPLE_BLOCK);
    const err = codecError(() => decodeBlock(bytes, bytes.length - 1), CodecErrorCode.TOO_LARGE);
    expect(err.message).toMatch(`block: ${bytes.length} bytes exceeds ${bytes.length - 1}`);
    // Garbage (it would be TRUNCATED if parsed) is refused on size alone.
    codecError(() => decodeBlock(new Uint8Array(100), 99), CodecErrorCode.TOO_LARGE);
    // The default cap is the protocol's hard limit.
    codecError(() => decodeBlock(new Uint8Array(MAX_BLOCK_BYTES_LIMIT + 1)), CodecErrorCode.TOO_LARGE);
  });

  it("rejects a block whose tx count lies", () => {
    const bytes = encodeBlock(SAMPLE_BLOCK);
    const at = SIGNED_HEADER_BYTES;
    const withCount = (n: number) =>
      concatBytes(bytes.subarray(0, at), new ByteWriter(4).u32(n).finish(), bytes.subarray(at + 4));
    const n = SAMPLE_BLOCK.txs.length;
    // One more than present: the reader runs out at the missing tx's length prefix.
    const more = codecError(() => decodeBlock(withCount(n + 1)), CodecErrorCode.TRUNCATED);
    expect(more.message).toMatch(`truncated at tx ${n} length`);
    // Far more than could fit: refused before allocating anything.
    const huge = codecError(() => decodeBlock(withCount(0xffff_ffff)), CodecErrorCode.TRUNCATED);
    expect(huge.message).toMatch(/txs cannot fit/);
    expect(huge.meta).toMatchObject({ count: 0xffff_ffff });
    // Fewer than present: the rest is trailing garbage.
    codecError(() => decodeBlock(withCount(n - 1)), CodecErrorCode.TRAILING_BYTES);
  });

  it("rejects an oversized tx inside a block by its length prefix", () => {
    const w = new ByteWriter()
      .raw(encodeHeader(SAMPLE_HEADER))
      .u32(1)
      .u32(MAX_TX_BYTES + 1);
    w.raw(new Uint8Array(MAX_TX_BYTES + 1));
    const err = codecError(() => decodeBlock(w.finish()), CodecErrorCode.TOO_LARGE);
    expect(err.message).toMatch(`block: tx 0 of ${MAX_TX_BYTES + 1} bytes exceeds ${MAX_TX_BYTES}`);
  });

  it("names the failing tx inside a block", () => {
    const txBytes = encodeTx(SAMPLE_TXS.stake!);
    const bad = withByte(txBytes, 0, 9);
    const w = new ByteWriter().raw(encodeHeader(SAMPLE_HEADER)).u32(2).varBytes(txBytes).varBytes(bad);
    const err = codecError(() => decodeBlock(w.finish()), CodecErrorCode.UNKNOWN_KIND);
    expect(err.message).toMatch(/^block: tx 1: tx: unknown kind 9/);
    expect(err.meta).toMatchObject({ index: 1, kind: 9 });
    // A tx whose length prefix is shorter than its encoding: truncated within the tx, named.
    const w2 = new ByteWriter()
      .raw(encodeHeader(SAMPLE_HEADER))
      .u32(1)
      .varBytes(txBytes.subarray(0, txBytes.length - 1));
    const err2 = codecError(() => decodeBlock(w2.finish()), CodecErrorCode.TRUNCATED);
    expect(err2.message).toMatch(/^block: tx 0: tx: truncated at signature/);
    // And one longer than its encoding: trailing bytes within the tx.
    const w3 = new ByteWriter()
      .raw(encodeHeader(SAMPLE_HEADER))
      .u32(1)
      .varBytes(concatBytes(txBytes, Uint8Array.of(0)));
    codecError(() => decodeBlock(w3.finish()), CodecErrorCode.TRAILING_BYTES);
  });

  it("rejects a header height above 2^53-1 inside a block", () => {
    const bytes = encodeBlock(SAMPLE_BLOCK);
    const mutated = concatBytes(u64be(2n ** 53n), bytes.subarray(8));
    const err = codecError(() => decodeBlock(mutated), CodecErrorCode.OUT_OF_RANGE);
    expect(err.message).toMatch(/block: height/);
  });
});

// ---- properties ------------------------------------------------------------------------------

const bytesArb = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const u53Arb = fc.oneof(
  fc.integer({ min: 0, max: 1000 }),
  fc.constantFrom(0, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);
const amountArb = fc.oneof(fc.bigInt({ min: 0n, max: 1_000_000n }), fc.bigInt({ min: 0n, max: MAX_AMOUNT }));

const headerArb: fc.Arbitrary<SignedHeader> = fc.record({
  height: u53Arb,
  slot: u53Arb,
  parentHash: bytesArb(32),
  proposer: bytesArb(32),
  txRoot: bytesArb(32),
  stateRoot: bytesArb(32),
  signature: bytesArb(64),
});

const commonArb = { from: bytesArb(32), nonce: u53Arb, fee: amountArb, signature: bytesArb(64) };
const txArb: fc.Arbitrary<SignedTx> = fc.oneof(
  fc.record({ kind: fc.constant("transfer" as const), ...commonArb, to: bytesArb(32), amount: amountArb }),
  fc.record({ kind: fc.constant("stake" as const), ...commonArb, amount: amountArb }),
  fc.record({ kind: fc.constant("unstake" as const), ...commonArb, amount: amountArb }),
  fc.record({ kind: fc.constant("bpm" as const), ...commonArb, bpm: fc.integer({ min: 0, max: 0xffff }) }),
  fc.record({ kind: fc.constant("evidence" as const), ...commonArb, headerA: headerArb, headerB: headerArb }),
);
const blockArb: fc.Arbitrary<Block> = fc.record({
  header: headerArb,
  txs: fc.array(txArb, { maxLength: 8 }),
});

type Mutation =
  | { op: "flip"; at: number; mask: number }
  | { op: "insert"; at: number; value: number }
  | { op: "delete"; at: number }
  | { op: "set"; at: number; value: number };
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  // Setting a byte to 0x00/0xff exercises lengths, counts, kind tags and the 2^53 bound.
  fc.record({ op: fc.constant("set" as const), at: fc.nat(), value: fc.constantFrom(0, 0xff, 5, 0x20) }),
);

function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out: Uint8Array = Uint8Array.from(bytes);
  for (const m of mutations) {
    if (m.op === "insert") {
      const at = m.at % (out.length + 1);
      out = concatBytes(out.subarray(0, at), Uint8Array.of(m.value), out.subarray(at));
      continue;
    }
    if (out.length === 0) continue;
    const at = m.at % out.length;
    if (m.op === "flip") out[at] = out[at]! ^ m.mask;
    else if (m.op === "set") out[at] = m.value;
    else out = concatBytes(out.subarray(0, at), out.subarray(at + 1));
  }
  return out;
}

/**
 * Structural equality for decoded values (objects, Uint8Arrays, bigints, numbers, strings): much
 * faster than `toEqual`, which dominates the property runs otherwise. Falls back to `toEqual` for the
 * failure message.
 */
function same(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(a, b) === 0;
  }
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null) return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(rb, k) && same(ra[k], rb[k]));
}

function expectSame(actual: unknown, expected: unknown): void {
  if (!same(actual, expected)) expect(actual).toEqual(expected);
}

function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  if (Buffer.compare(actual, expected) !== 0) expect(actual).toEqual(expected);
}

/** decode either throws CodecError or yields a value that re-encodes to exactly the input. */
function canonicalOrCodecError<T>(
  bytes: Uint8Array,
  decode: (b: Uint8Array) => T,
  encode: (v: T) => Uint8Array,
) {
  let value: T;
  try {
    value = decode(bytes);
  } catch (err) {
    if (!(err instanceof CodecError)) throw err;
    expect(err.verdict).toBe("reject");
    return false;
  }
  expectSameBytes(encode(value), bytes);
  return true;
}

describe("codec properties", () => {
  it("the structural comparison used below tells values apart", () => {
    const tx = SAMPLE_TXS.transfer!;
    expect(same(decodeTx(encodeTx(tx)), tx)).toBe(true);
    expect(same({ ...tx, fee: tx.fee + 1n }, tx)).toBe(false);
    expect(same({ ...tx, to: withByte(tx.kind === "transfer" ? tx.to : new Uint8Array(32), 0, 1) }, tx)).toBe(
      false,
    );
    expect(same({ ...tx, extra: 1 }, tx)).toBe(false);
    expect(same(SAMPLE_BLOCK, { ...SAMPLE_BLOCK, txs: SAMPLE_BLOCK.txs.slice(1) })).toBe(false);
  });

  it("arbitrary txs round-trip", () => {
    fc.assert(
      fc.property(txArb, (tx) => {
        const bytes = encodeTx(tx);
        expect(bytes.length).toBeLessThanOrEqual(MAX_TX_BYTES);
        const decoded = decodeTx(bytes);
        expectSame(decoded, tx);
        expectSameBytes(encodeTx(decoded), bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it("arbitrary headers round-trip", () => {
    fc.assert(
      fc.property(headerArb, (h) => {
        const bytes = encodeHeader(h);
        expectSame(decodeHeader(bytes), h);
        expectSameBytes(encodeHeader(decodeHeader(bytes)), bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it("arbitrary blocks round-trip", () => {
    fc.assert(
      fc.property(blockArb, (block) => {
        const bytes = encodeBlock(block);
        const decoded = decodeBlock(bytes);
        expectSame(decoded, block);
        expectSameBytes(encodeBlock(decoded), bytes);
      }),
      { numRuns: 500 },
    );
  });

  it("arbitrary bytes decode canonically or throw CodecError", () => {
    const kinds = fc.integer({ min: 0, max: 6 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), kinds, (raw, kind) => {
        // Steer a share of the inputs to a plausible kind tag so the parser gets past the first byte.
        const bytes = raw.length > 0 && kind < 5 ? withByte(raw, 0, kind) : raw;
        canonicalOrCodecError(bytes, decodeTx, encodeTx);
        canonicalOrCodecError(bytes, decodeHeader, encodeHeader);
        canonicalOrCodecError(bytes, (b) => decodeBlock(b), encodeBlock);
      }),
      { numRuns: 3000 },
    );
  });

  it("exact-length arbitrary bytes for a fixed-size kind always decode canonically", () => {
    // A bpm tx is 115 bytes of which only the tag and nonce are constrained.
    fc.assert(
      fc.property(bytesArb(115), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (raw, nonce) => {
        const bytes = concatBytes(
          Uint8Array.of(TxKind.bpm),
          raw.subarray(1, 33),
          u64be(BigInt(nonce)),
          raw.subarray(41),
        );
        expect(canonicalOrCodecError(bytes, decodeTx, encodeTx)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("mutated tx encodings decode canonically or throw CodecError", () => {
    fc.assert(
      fc.property(txArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (tx, muts) => {
        canonicalOrCodecError(mutate(encodeTx(tx), muts), decodeTx, encodeTx);
      }),
      { numRuns: 2000 },
    );
  });

  it("mutated header encodings decode canonically or throw CodecError", () => {
    fc.assert(
      fc.property(headerArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (h, muts) => {
        canonicalOrCodecError(mutate(encodeHeader(h), muts), decodeHeader, encodeHeader);
      }),
      { numRuns: 1000 },
    );
  });

  it("mutated block encodings decode canonically or throw CodecError", () => {
    let decodedCount = 0;
    fc.assert(
      fc.property(blockArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (block, muts) => {
        if (canonicalOrCodecError(mutate(encodeBlock(block), muts), (b) => decodeBlock(b), encodeBlock)) {
          decodedCount++;
        }
      }),
      { numRuns: 1000 },
    );
    // Many mutations land in fixed fields and still decode: the property is not vacuous.
    expect(decodedCount).toBeGreaterThan(50);
  });
});
