/**
 * Hostile input into the sync protocol's decoders (`sync/messages.ts`): status, blocks_by_range request,
 * blocks_by_hash request and block list. Random bytes and mutations/splices of valid encodings; each
 * input decodes to a value whose encoding is exactly the input and that respects the protocol's
 * bounds, or throws `CodecError`, nothing else. `FUZZ_RUNS` cases per decoder (default 3000).
 */
import { CodecError, sha256, utf8 } from "@cardio/core";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { corpus } from "../../../core/test/fuzz/corpus.js";
import { fuzzParams, fuzzRuns, fuzzTimeout, hostileBytes, Tally } from "../../../core/test/fuzz/fuzz.js";
import {
  decodePendingTxsRequest,
  decodePendingTxsResponse,
  encodePendingTxsRequest,
  encodePendingTxsResponse,
  MAX_KNOWN_IDS,
  MAX_PENDING_TXS_PER_RESPONSE,
} from "../../src/mempool/pendingTxsMessages.js";
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
} from "../../src/sync/messages.js";

const RUNS = fuzzRuns();
const TIMEOUT = fuzzTimeout(RUNS, 0.2);
const C = corpus();
const report: string[] = [];
afterAll(() => console.log(`sync message fuzz (FUZZ_RUNS=${RUNS}):\n  ${report.join("\n  ")}`));

const hash = (i: number) => sha256(utf8(`h${i}`));

const statuses = [
  { genesisHash: C.parents[0]!.hash, headHash: C.parents.at(-1)!.hash, height: 6, slot: 9 },
  { genesisHash: hash(1), headHash: hash(2), height: 0, slot: 0 },
  { genesisHash: hash(3), headHash: hash(4), height: Number.MAX_SAFE_INTEGER, slot: Number.MAX_SAFE_INTEGER },
].map(encodeStatus);
const ranges = [
  { start: 0, count: 1 },
  { start: 1, count: MAX_BLOCKS_PER_RANGE },
  { start: Number.MAX_SAFE_INTEGER, count: 17 },
].map(encodeRangeRequest);
const hashLists = [1, 2, 7, MAX_HASHES_PER_REQUEST].map((n) =>
  encodeHashesRequest(Array.from({ length: n }, (_, i) => hash(i))),
);
const blockLists = [
  encodeBlockList([]),
  encodeBlockList(C.encodedBlocks.slice(0, 1)),
  encodeBlockList(C.encodedBlocks),
  encodeBlockList([new Uint8Array(0), Uint8Array.of(1, 2, 3)]),
];

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function fuzzDecoder<T>(
  name: string,
  valid: Uint8Array[],
  decode: (b: Uint8Array) => T,
  encode: (v: T) => Uint8Array,
  bounds: (v: T) => void,
): void {
  const tally = new Tally();
  fc.assert(
    fc.property(hostileBytes(valid, 600), ({ origin, bytes }) => {
      let value: T;
      try {
        value = decode(bytes);
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
        tally.add(origin, err.code);
        return;
      }
      expect(same(encode(value), bytes)).toBe(true);
      bounds(value);
      tally.add(origin, "decoded");
    }),
    fuzzParams(`node/${name}`, RUNS),
  );
  report.push(`${name}: ${tally}`);
  expect(tally.outcomes.decoded).toBeGreaterThan(0);
}

describe("fuzz: sync message decoders", () => {
  it(
    "status",
    () => {
      fuzzDecoder("status", statuses, decodeStatus, encodeStatus, (s) => {
        expect(Number.isSafeInteger(s.height) && Number.isSafeInteger(s.slot)).toBe(true);
      });
    },
    TIMEOUT,
  );

  it(
    "blocks_by_range request",
    () => {
      fuzzDecoder("blocks_by_range", ranges, decodeRangeRequest, encodeRangeRequest, (r) => {
        expect(r.count).toBeGreaterThanOrEqual(1);
        expect(r.count).toBeLessThanOrEqual(MAX_BLOCKS_PER_RANGE);
        expect(Number.isSafeInteger(r.start)).toBe(true);
      });
    },
    TIMEOUT,
  );

  it(
    "blocks_by_hash request",
    () => {
      fuzzDecoder("blocks_by_hash", hashLists, decodeHashesRequest, encodeHashesRequest, (hs) => {
        expect(hs.length).toBeGreaterThanOrEqual(1);
        expect(hs.length).toBeLessThanOrEqual(MAX_HASHES_PER_REQUEST);
        for (const h of hs) expect(h.length).toBe(32);
      });
    },
    TIMEOUT,
  );

  it(
    "block list (a response, bounded by what was asked)",
    () => {
      const max = 8;
      fuzzDecoder(
        "block list",
        blockLists,
        (b) => decodeBlockList(b, max),
        encodeBlockList,
        (list) => {
          expect(list.length).toBeLessThanOrEqual(max);
        },
      );
    },
    TIMEOUT,
  );

  it(
    "pending_txs request",
    () => {
      const lists = [0, 1, 9].map((n) =>
        encodePendingTxsRequest(Array.from({ length: n }, (_, i) => hash(i).subarray(0, 8))),
      );
      fuzzDecoder(
        "pending_txs request",
        lists,
        decodePendingTxsRequest,
        (ids) => encodePendingTxsRequest(ids.map((h) => Uint8Array.from(Buffer.from(h, "hex")))),
        (ids) => {
          expect(ids.length).toBeLessThanOrEqual(MAX_KNOWN_IDS);
        },
      );
    },
    TIMEOUT,
  );

  it(
    "pending_txs response",
    () => {
      const lists = [
        encodePendingTxsResponse([]),
        encodePendingTxsResponse(C.encodedTxs.slice(0, 3)),
        encodePendingTxsResponse([new Uint8Array(0), Uint8Array.of(7)]),
      ];
      fuzzDecoder(
        "pending_txs response",
        lists,
        decodePendingTxsResponse,
        encodePendingTxsResponse,
        (txs) => {
          expect(txs.length).toBeLessThanOrEqual(MAX_PENDING_TXS_PER_RESPONSE);
        },
      );
    },
    TIMEOUT,
  );

  it("a block list whose count lies is refused before anything is allocated for it", () => {
    // count = 2^32-1 with a 4-byte body: TOO_LARGE against the asked maximum, not an allocation.
    const lie = Uint8Array.of(0xff, 0xff, 0xff, 0xff);
    expect(() => decodeBlockList(lie, MAX_BLOCKS_PER_RANGE)).toThrow(CodecError);
    // A length prefix of 4 GiB for one block: refused by the per-block cap.
    const longBlock = Uint8Array.of(0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff);
    expect(() => decodeBlockList(longBlock, 1)).toThrow(CodecError);
  });
});
