import { CodecError, CodecErrorCode, createDevnet, encodeTx, MAX_TX_BYTES, signTx } from "@cardio/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodePendingTxsRequest,
  decodePendingTxsResponse,
  encodePendingTxsRequest,
  encodePendingTxsResponse,
  MAX_KNOWN_IDS,
  MAX_PENDING_TXS_PER_RESPONSE,
} from "../../src/mempool/pendingTxsMessages.js";

function codecError(fn: () => unknown): CodecError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CodecError);
    return err as CodecError;
  }
  throw new Error("decoded without error");
}

const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};

describe("pending_txs payloads", () => {
  it("round-trips the known ids of a request", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }), { maxLength: 50 }), (ids) => {
        const back = decodePendingTxsRequest(encodePendingTxsRequest(ids));
        expect(back).toEqual(ids.map((i) => Buffer.from(i).toString("hex")));
      }),
    );
  });

  it("round-trips the transactions of a response", () => {
    const { genesis, keys } = createDevnet({ seed: "pending-txs", validators: 2, genesisTime: 0 });
    const txs = [0, 1, 2].map((nonce) =>
      encodeTx(
        signTx(
          { kind: "bpm", from: keys[0]!.publicKey, nonce, fee: 1n, bpm: 60 + nonce },
          keys[0]!,
          genesis.chainId,
        ),
      ),
    );
    expect(decodePendingTxsResponse(encodePendingTxsResponse(txs))).toEqual(txs);
    expect(decodePendingTxsResponse(encodePendingTxsResponse([]))).toEqual([]);
  });

  it("refuses truncated, trailing and oversized payloads with a CodecError", () => {
    const req = encodePendingTxsRequest([new Uint8Array(8).fill(1)]);
    expect(codecError(() => decodePendingTxsRequest(req.subarray(0, req.length - 1))).code).toBe(
      CodecErrorCode.TRUNCATED,
    );
    codecError(() => decodePendingTxsRequest(Uint8Array.of(...req, 0)));
    expect(codecError(() => decodePendingTxsRequest(u32(MAX_KNOWN_IDS + 1))).code).toBe(
      CodecErrorCode.TOO_LARGE,
    );

    const res = encodePendingTxsResponse([new Uint8Array(10)]);
    codecError(() => decodePendingTxsResponse(res.subarray(0, res.length - 1)));
    codecError(() => decodePendingTxsResponse(Uint8Array.of(...res, 0)));
    expect(codecError(() => decodePendingTxsResponse(u32(MAX_PENDING_TXS_PER_RESPONSE + 1))).code).toBe(
      CodecErrorCode.TOO_LARGE,
    );
    // A transaction longer than any valid one is refused before it is copied.
    codecError(() => decodePendingTxsResponse(Uint8Array.of(...u32(1), ...u32(MAX_TX_BYTES + 1))));
  });

  it("never throws anything but a CodecError on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        for (const decode of [decodePendingTxsRequest, decodePendingTxsResponse]) {
          try {
            decode(b);
          } catch (err) {
            expect(err).toBeInstanceOf(CodecError);
          }
        }
      }),
    );
  });

  it("refuses to encode more than the protocol allows", () => {
    expect(() =>
      encodePendingTxsRequest(Array.from({ length: MAX_KNOWN_IDS + 1 }, () => new Uint8Array(8))),
    ).toThrow(RangeError);
  });
});
