/**
 * Hostile input into every decoder of core, and on into the validation a node runs next:
 *
 * - `decodeTx`, `decodeHeader`, `decodeBlock`: random bytes and mutations/splices of valid encodings.
 *   Each input either decodes to a value whose encoding is exactly the input (one encoding per value)
 *   or throws `CodecError`, nothing else. What decodes is then validated the way a node does it
 *   (`assertValidTx` + `applyTx`; `applyBlock` on a real parent) and may only throw `TxError` or
 *   `BlockError`: any other exception would be a bug a peer can trigger.
 * - `parseGenesisJson` (mutated and random text) and `parseGenesis` (mutated JSON values): a genesis
 *   or `GenesisError`, nothing else.
 *
 * Counts: `FUZZ_RUNS` per target (default 3000); seeds fixed (see fuzz.ts).
 */
import {
  applyBlock,
  applyTx,
  assertValidTx,
  BlockError,
  CodecError,
  CodecErrorCode,
  decodeBlock,
  decodeHeader,
  decodeTx,
  encodeBlock,
  encodeHeader,
  encodeTx,
  GenesisError,
  genesisToJson,
  headerHash,
  isValidHeaderSignature,
  MAX_BLOCK_BYTES_LIMIT,
  MAX_TX_BYTES,
  parseGenesis,
  parseGenesisJson,
  StateDraft,
  TxError,
  toHex,
} from "@cardio/core";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { corpus } from "./corpus.js";
import { fuzzParams, fuzzRuns, fuzzTimeout, hostileBytes, Tally } from "./fuzz.js";

const C = corpus();
const RUNS = fuzzRuns();
/** Each case takes well under 0.2 ms; the timeout scales with FUZZ_RUNS. */
const TIMEOUT = fuzzTimeout(RUNS, 0.2);
const report: string[] = [];
afterAll(() => {
  // One line per target in the test output: how many cases, of which kind, with which outcome.
  console.log(`core decoder fuzz (FUZZ_RUNS=${RUNS}):\n  ${report.join("\n  ")}`);
});

/** `bytes` at a random offset of a larger buffer, as network frames arrive (views, not copies). */
const placed = (arb: fc.Arbitrary<{ origin: string; bytes: Uint8Array }>) =>
  fc.tuple(arb, fc.nat({ max: 7 }), fc.nat({ max: 7 })).map(([x, before, after]) => {
    if (before === 0 && after === 0) return x;
    const buf = new Uint8Array(before + x.bytes.length + after).fill(0xa5);
    buf.set(x.bytes, before);
    return { origin: x.origin, bytes: buf.subarray(before, before + x.bytes.length) };
  });

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Runs `fn`; returns its value, or the CodecError it threw. Anything else fails the property. */
function decodeOrCodecError<T>(fn: () => T): T | CodecError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CodecError) return err;
    throw new Error(`decoder threw ${String(err)} (not a CodecError)`, { cause: err });
  }
}

function expectOnly<E extends Error>(fn: () => void, ...classes: Array<new (...a: never[]) => E>): string {
  try {
    fn();
    return "valid";
  } catch (err) {
    if (classes.some((c) => err instanceof c)) return (err as { code?: string }).code ?? "error";
    throw new Error(`validation threw ${String(err)}`, { cause: err });
  }
}

describe("fuzz: core decoders", () => {
  it(
    "decodeTx: canonical value or CodecError; decoded txs validate to TxError at worst",
    () => {
      const tally = new Tally();
      const genesisState = C.parents[0]!.state;
      fc.assert(
        fc.property(placed(hostileBytes(C.encodedTxs, MAX_TX_BYTES + 64)), ({ origin, bytes }) => {
          const r = decodeOrCodecError(() => decodeTx(bytes));
          if (r instanceof CodecError) {
            tally.add(origin, r.code);
            expect(r.verdict).toBe("reject");
            return;
          }
          expect(sameBytes(encodeTx(r), bytes)).toBe(true);
          const outcome = expectOnly(() => {
            assertValidTx(r, C.genesis.chainId);
            applyTx(new StateDraft(genesisState), r, { config: C.genesis, slot: 1 });
          }, TxError);
          tally.add(origin, `decoded/${outcome}`);
        }),
        fuzzParams("core/decodeTx", RUNS),
      );
      report.push(`decodeTx: ${tally}`);
      expect(tally.outcomes["decoded/valid"]).toBeGreaterThan(0);
      expect(Object.keys(tally.outcomes).some((k) => k.startsWith("decoded/TX_"))).toBe(true);
    },
    TIMEOUT,
  );

  it(
    "decodeHeader: canonical value or CodecError; signature checks never throw",
    () => {
      const tally = new Tally();
      fc.assert(
        fc.property(placed(hostileBytes(C.encodedHeaders, 400)), ({ origin, bytes }) => {
          const r = decodeOrCodecError(() => decodeHeader(bytes));
          if (r instanceof CodecError) {
            tally.add(origin, r.code);
            return;
          }
          expect(sameBytes(encodeHeader(r), bytes)).toBe(true);
          const ok = isValidHeaderSignature(r, C.genesis.chainId);
          headerHash(r);
          tally.add(origin, ok ? "decoded/signed" : "decoded/bad-signature");
        }),
        fuzzParams("core/decodeHeader", RUNS),
      );
      report.push(`decodeHeader: ${tally}`);
      expect(tally.outcomes["decoded/signed"]).toBeGreaterThan(0);
    },
    TIMEOUT,
  );

  it(
    "decodeBlock: canonical value or CodecError; decoded blocks validate to BlockError at worst",
    () => {
      const tally = new Tally();
      const parentByHash = new Map(C.parents.map((p) => [toHex(p.hash), p]));
      fc.assert(
        fc.property(placed(hostileBytes(C.encodedBlocks, 2048)), ({ origin, bytes }) => {
          const r = decodeOrCodecError(() => decodeBlock(bytes, C.genesis.maxBlockBytes));
          if (r instanceof CodecError) {
            tally.add(origin, r.code);
            expect(r.verdict).toBe("reject");
            return;
          }
          expect(sameBytes(encodeBlock(r), bytes)).toBe(true);
          // On its own parent when we know it (so validation goes deep), else on the last block.
          const parent = parentByHash.get(toHex(r.header.parentHash)) ?? C.parents.at(-1)!;
          const outcome = expectOnly(() => {
            applyBlock({
              config: C.genesis,
              parent,
              block: r,
              nowMs: C.genesis.genesisTime + 10 * C.genesis.slotMs,
              encodedSize: bytes.length,
            });
          }, BlockError);
          tally.add(origin, `decoded/${outcome}`);
        }),
        fuzzParams("core/decodeBlock", RUNS),
      );
      report.push(`decodeBlock: ${tally}`);
      // Not vacuous: mutations reach the deep checks (signature, roots) and valid blocks still pass.
      expect(tally.outcomes["decoded/valid"]).toBeGreaterThan(0);
      expect(tally.outcomes["decoded/BLOCK_BAD_SIGNATURE"] ?? 0).toBeGreaterThan(0);
    },
    TIMEOUT,
  );

  it("decodeBlock refuses input over the cap before reading a byte of it", () => {
    // Whatever the content (here: a valid block followed by junk, or a lying tx count), over the cap
    // it is TOO_LARGE, so the size check comes first and costs nothing.
    const cap = C.genesis.maxBlockBytes;
    const sizes = [cap + 1, cap + 4096, MAX_BLOCK_BYTES_LIMIT + 1];
    for (const size of sizes) {
      const big = new Uint8Array(size);
      big.set(C.encodedBlocks[1]!);
      big.fill(0xff, C.encodedBlocks[1]!.length);
      const t0 = performance.now();
      let err: unknown;
      for (let i = 0; i < 1000; i++) {
        try {
          decodeBlock(big, cap);
        } catch (e) {
          err = e;
        }
      }
      const perCall = (performance.now() - t0) / 1000;
      expect(err).toBeInstanceOf(CodecError);
      expect((err as CodecError).code).toBe(CodecErrorCode.TOO_LARGE);
      // Far below what parsing even the header and count would take for this size.
      expect(perCall).toBeLessThan(0.5);
    }
    const bigTx = new Uint8Array(MAX_TX_BYTES + 1);
    expect(() => decodeTx(bigTx)).toThrow(CodecError);
  });

  it("decoded fields are copies, never views into the input (libp2p hands handlers Buffer views)", () => {
    // A Buffer view into a larger message buffer, as gossip and request handlers receive it.
    const encoded = C.encodedBlocks[2]!;
    const backing = Buffer.alloc(encoded.length + 64, 0x5a);
    backing.set(encoded, 32);
    const view = backing.subarray(32, 32 + encoded.length);
    const block = decodeBlock(view);
    const tx = block.txs[0]!;
    for (const field of [block.header.parentHash, block.header.signature, tx.from, tx.signature]) {
      expect(field.buffer).not.toBe(backing.buffer);
      expect(field.byteLength).toBe(field.buffer.byteLength);
    }
    // Scribbling over the input afterwards changes nothing decoded.
    const before = encodeBlock(block);
    backing.fill(0);
    expect(sameBytes(encodeBlock(block), before)).toBe(true);
  });

  it(
    "parseGenesisJson: mutated and random text gives a genesis or GenesisError",
    () => {
      const tally = new Tally();
      const texts = C.genesisTexts.map((t) => new TextEncoder().encode(t));
      const decoder = new TextDecoder();
      const textArb = fc.oneof(
        {
          arbitrary: hostileBytes(texts, 64).map(({ origin, bytes }) => ({
            origin,
            text: decoder.decode(bytes),
          })),
          weight: 6,
        },
        { arbitrary: fc.json({ maxDepth: 4 }).map((text) => ({ origin: "random-json", text })), weight: 2 },
        {
          arbitrary: fc.string({ maxLength: 200 }).map((text) => ({ origin: "random-text", text })),
          weight: 1,
        },
      );
      fc.assert(
        fc.property(textArb, ({ origin, text }) => {
          try {
            const g = parseGenesisJson(text);
            // What parses is canonical: writing it back and parsing again gives the same genesis.
            expect(parseGenesis(genesisToJson(g))).toEqual(g);
            tally.add(origin, "parsed");
          } catch (err) {
            if (!(err instanceof GenesisError)) throw err;
            tally.add(origin, err.code);
          }
        }),
        fuzzParams("core/parseGenesisJson", RUNS),
      );
      report.push(`parseGenesisJson: ${tally}`);
      expect(tally.outcomes.parsed).toBeGreaterThan(0);
    },
    TIMEOUT,
  );

  it(
    "parseGenesis: structurally mutated documents give a genesis or GenesisError",
    () => {
      const tally = new Tally();
      const base = genesisToJson(C.genesis) as unknown as Record<string, unknown>;
      const fields = [...Object.keys(base), "extra", "__proto__", "constructor", "slotMS"];
      const accountFields = ["address", "balance", "stake", "Balance", "nonce"];
      const weird = fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom(
          -0,
          1e21,
          Number.MAX_SAFE_INTEGER + 1,
          2 ** 53,
          -1,
          0.5,
          "",
          "0",
          "00",
          "-1",
          "1e3",
          " 1",
          "18446744073709551615",
          "18446744073709551616",
          "9".repeat(40),
          "12D3KooW",
          C.genesis.accounts[0]!.address,
          [],
          {},
          null,
          true,
        ),
      );
      const edit = fc.oneof(
        fc.record({ kind: fc.constant("set" as const), field: fc.constantFrom(...fields), value: weird }),
        fc.record({ kind: fc.constant("delete" as const), field: fc.constantFrom(...fields) }),
        fc.record({
          kind: fc.constant("account" as const),
          index: fc.nat({ max: 5 }),
          field: fc.constantFrom(...accountFields),
          value: fc.option(weird, { nil: undefined }),
        }),
        fc.record({ kind: fc.constant("dupAccount" as const), index: fc.nat({ max: 5 }) }),
      );
      fc.assert(
        fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
          // JSON round trip: what a node reads from a file has no prototype tricks beyond JSON's own.
          const doc = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
          for (const e of edits) {
            const accounts = Array.isArray(doc.accounts) ? (doc.accounts as unknown[]) : undefined;
            if (e.kind === "set")
              Object.defineProperty(doc, e.field, {
                value: e.value,
                enumerable: true,
                configurable: true,
                writable: true,
              });
            else if (e.kind === "delete") delete doc[e.field];
            else if (e.kind === "dupAccount" && accounts !== undefined && accounts.length > 0) {
              accounts.push(structuredClone(accounts[e.index % accounts.length]));
            } else if (e.kind === "account" && accounts !== undefined && accounts.length > 0) {
              const acc = accounts[e.index % accounts.length];
              if (typeof acc === "object" && acc !== null) {
                if (e.value === undefined) delete (acc as Record<string, unknown>)[e.field];
                else (acc as Record<string, unknown>)[e.field] = e.value;
              }
            }
          }
          try {
            const g = parseGenesis(doc);
            expect(parseGenesis(genesisToJson(g))).toEqual(g);
            tally.add("mutated", "parsed");
          } catch (err) {
            if (!(err instanceof GenesisError)) throw err;
            tally.add("mutated", err.code);
          }
        }),
        fuzzParams("core/parseGenesis", RUNS),
      );
      report.push(`parseGenesis: ${tally}`);
      expect(Object.keys(tally.outcomes).length).toBeGreaterThan(3);
    },
    TIMEOUT,
  );
});
