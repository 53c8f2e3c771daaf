import { describe, expect, it } from "vitest";
import { isValidTx } from "../src/applyTx.js";
import { concatBytes, utf8 } from "../src/bytes.js";
import { encodeUnsignedHeader } from "../src/headerCodec.js";
import { signBytes } from "../src/keys.js";
import { Domain } from "../src/params.js";
import {
  isValidHeaderSignature,
  isValidTxSignature,
  signHeader,
  signingBytes,
  signTx,
} from "../src/signing.js";
import { decodeTx, encodeTx, encodeTxBody } from "../src/txCodec.js";
import type { BlockHeader, SignedHeader, SignedTx, TxBody } from "../src/types.js";
import {
  bpm,
  CHAIN_ID,
  equivocation,
  evidence,
  header,
  key,
  pk,
  stake,
  transfer,
  unstake,
} from "./fixtures.js";

const [hA, hB] = equivocation(key(1), 7);
const TXS: Record<string, SignedTx> = {
  transfer: transfer(key(0), pk(1), 100n, 3, 2n),
  stake: stake(key(0), 500n, 0),
  unstake: unstake(key(2), 5n, 1),
  bpm: bpm(key(3), 72, 9),
  evidence: evidence(key(4), hA, hB, 1),
};

function flip(bytes: Uint8Array, at = 0): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[at] = out[at]! ^ 1;
  return out;
}

/** Every single-field change of a tx body that still encodes. */
function tamperings(tx: SignedTx): Array<[string, SignedTx]> {
  const out: Array<[string, SignedTx]> = [
    ["from", { ...tx, from: pk(9) }],
    ["nonce", { ...tx, nonce: tx.nonce + 1 }],
    ["fee", { ...tx, fee: tx.fee + 1n }],
  ];
  switch (tx.kind) {
    case "transfer":
      out.push(["to", { ...tx, to: pk(8) }], ["amount", { ...tx, amount: tx.amount + 1n }]);
      break;
    case "stake":
    case "unstake":
      out.push(["amount", { ...tx, amount: tx.amount + 1n }]);
      // Same payload under the other kind tag.
      out.push(["kind", { ...tx, kind: tx.kind === "stake" ? "unstake" : "stake" }]);
      break;
    case "bpm":
      out.push(["bpm", { ...tx, bpm: tx.bpm + 1 }]);
      break;
    case "evidence":
      out.push(
        ["headerA.slot", { ...tx, headerA: { ...tx.headerA, slot: tx.headerA.slot + 1 } }],
        ["headerA.signature", { ...tx, headerA: { ...tx.headerA, signature: flip(tx.headerA.signature) } }],
        ["headerB.stateRoot", { ...tx, headerB: { ...tx.headerB, stateRoot: flip(tx.headerB.stateRoot) } }],
        ["swapped headers", { ...tx, headerA: tx.headerB, headerB: tx.headerA }],
      );
      break;
  }
  out.push(["signature", { ...tx, signature: flip(tx.signature, 40) }]);
  return out;
}

describe("signingBytes", () => {
  it("is tag ‖ 0x00 ‖ len(chainId) ‖ chainId ‖ payload", () => {
    const payload = Uint8Array.of(1, 2, 3);
    expect(signingBytes("cardio/tx", "abc", payload)).toEqual(
      concatBytes(utf8("cardio/tx"), Uint8Array.of(0, 3), utf8("abc"), payload),
    );
  });

  it("cannot be made ambiguous by moving bytes between chain id and payload", () => {
    const a = signingBytes(Domain.tx, "ab", utf8("cX"));
    const b = signingBytes(Domain.tx, "abc", utf8("X"));
    expect(a).not.toEqual(b);
    expect(signingBytes(Domain.tx, "c", utf8("p"))).not.toEqual(signingBytes(Domain.block, "c", utf8("p")));
  });

  it("refuses a chain id longer than 255 bytes", () => {
    expect(() => signingBytes(Domain.tx, "x".repeat(256), new Uint8Array(0))).toThrow(RangeError);
    expect(signingBytes(Domain.tx, "x".repeat(255), new Uint8Array(0)).length).toBe(
      Domain.tx.length + 2 + 255,
    );
  });
});

describe("transaction signatures", () => {
  it.each(Object.entries(TXS))("a %s tx verifies on its chain only", (_kind, tx) => {
    expect(isValidTxSignature(tx, CHAIN_ID)).toBe(true);
    expect(isValidTx(tx, CHAIN_ID)).toBe(true);
    expect(isValidTxSignature(tx, "other-chain")).toBe(false);
    expect(isValidTxSignature(tx, `${CHAIN_ID}-2`)).toBe(false);
    expect(isValidTxSignature(tx, "")).toBe(false);
    // It survives the wire.
    expect(isValidTxSignature(decodeTx(encodeTx(tx)), CHAIN_ID)).toBe(true);
  });

  it("a tx signed for another chain does not verify here", () => {
    const body: TxBody = { kind: "bpm", from: pk(0), nonce: 0, fee: 0n, bpm: 60 };
    const foreign = signTx(body, key(0), "other-chain");
    expect(isValidTxSignature(foreign, "other-chain")).toBe(true);
    expect(isValidTxSignature(foreign, CHAIN_ID)).toBe(false);
  });

  it("a tx signed by someone other than `from` does not verify", () => {
    const body: TxBody = { kind: "stake", from: pk(0), nonce: 0, fee: 1n, amount: 10n };
    expect(isValidTxSignature(signTx(body, key(1), CHAIN_ID), CHAIN_ID)).toBe(false);
  });

  it.each(Object.entries(TXS))("tampering with any field of a %s tx breaks its signature", (_kind, tx) => {
    for (const [field, tampered] of tamperings(tx)) {
      expect(isValidTxSignature(tampered, CHAIN_ID), field).toBe(false);
    }
  });

  it("a signature over the tx bytes under the block tag is not a tx signature", () => {
    const body = TXS.transfer!;
    const asBlock = signBytes(key(0), signingBytes(Domain.block, CHAIN_ID, encodeTxBody(body)));
    expect(isValidTxSignature({ ...body, signature: asBlock }, CHAIN_ID)).toBe(false);
    // Nor under a bare (untagged) message.
    const bare = signBytes(key(0), encodeTxBody(body));
    expect(isValidTxSignature({ ...body, signature: bare }, CHAIN_ID)).toBe(false);
  });
});

describe("header signatures", () => {
  const h = header(key(2), { height: 5, slot: 9 });

  it("verify on their chain only", () => {
    expect(isValidHeaderSignature(h, CHAIN_ID)).toBe(true);
    expect(isValidHeaderSignature(h, "other-chain")).toBe(false);
    const foreign = header(key(2), { height: 5, slot: 9 }, "other-chain");
    expect(isValidHeaderSignature(foreign, CHAIN_ID)).toBe(false);
  });

  it("a header signed by someone other than its proposer does not verify", () => {
    const unsigned: BlockHeader = { ...h, proposer: pk(2) };
    expect(isValidHeaderSignature(signHeader(unsigned, key(3), CHAIN_ID), CHAIN_ID)).toBe(false);
  });

  it("tampering with any field breaks the signature", () => {
    const cases: Array<[string, SignedHeader]> = [
      ["height", { ...h, height: h.height + 1 }],
      ["slot", { ...h, slot: h.slot + 1 }],
      ["parentHash", { ...h, parentHash: flip(h.parentHash) }],
      ["proposer", { ...h, proposer: pk(3) }],
      ["txRoot", { ...h, txRoot: flip(h.txRoot, 31) }],
      ["stateRoot", { ...h, stateRoot: flip(h.stateRoot, 7) }],
      ["signature", { ...h, signature: flip(h.signature, 63) }],
    ];
    for (const [field, tampered] of cases)
      expect(isValidHeaderSignature(tampered, CHAIN_ID), field).toBe(false);
  });

  it("a header signature is not valid as a tx signature, nor a tx signature as a header's", () => {
    // A tx whose body bytes are signed with the block domain (what a header signature covers).
    const body = TXS.stake!;
    const headerStyle = signBytes(key(0), signingBytes(Domain.block, CHAIN_ID, encodeTxBody(body)));
    expect(isValidTxSignature({ ...body, signature: headerStyle }, CHAIN_ID)).toBe(false);
    // A header whose bytes are signed with the tx domain.
    const txStyle = signBytes(key(2), signingBytes(Domain.tx, CHAIN_ID, encodeUnsignedHeader(h)));
    expect(isValidHeaderSignature({ ...h, signature: txStyle }, CHAIN_ID)).toBe(false);
    // A real header signature attached to a tx by the same key.
    expect(isValidTxSignature({ ...TXS.unstake!, from: pk(2), signature: h.signature }, CHAIN_ID)).toBe(
      false,
    );
  });
});
