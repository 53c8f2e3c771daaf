import {
  addressFromPublicKey,
  buildBlock,
  createDevnet,
  encodeTx,
  genesisBlock,
  headerHash,
  MAX_AMOUNT,
  type SignedTx,
  signTx,
  type TxBody,
  toHex,
  txId,
} from "@cardio/core";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/api/apiError.js";
import { blockToJson, headerToJson, txToJson } from "../../src/api/json.js";
import { txFromJson } from "../../src/api/txFromJson.js";

const { genesis, keys } = createDevnet({ seed: "cardio-json-test", validators: 2, genesisTime: 0 });
const [alice, bob] = [keys[0]!, keys[1]!];
const sign = (body: TxBody): SignedTx => signTx(body, alice, genesis.chainId);

function sampleTxs(): SignedTx[] {
  const g = genesisBlock(genesis);
  const parent = { hash: g.hash, height: 0, slot: 0, state: g.state };
  const a = buildBlock({ config: genesis, parent, slot: 1, key: bob, candidates: [] }).block.header;
  const b = buildBlock({
    config: genesis,
    parent,
    slot: 1,
    key: bob,
    candidates: [sign({ kind: "bpm", from: alice.publicKey, nonce: 0, fee: 0n, bpm: 60 })],
  }).block.header;
  const from = alice.publicKey;
  return [
    sign({ kind: "transfer", from, nonce: 0, fee: MAX_AMOUNT, to: bob.publicKey, amount: MAX_AMOUNT }),
    sign({ kind: "stake", from, nonce: 1, fee: 0n, amount: 1n }),
    sign({ kind: "unstake", from, nonce: Number.MAX_SAFE_INTEGER, fee: 2n, amount: 3n }),
    sign({ kind: "bpm", from, nonce: 3, fee: 4n, bpm: 1 }),
    sign({ kind: "evidence", from, nonce: 4, fee: 5n, headerA: a, headerB: b }),
  ];
}

describe("txToJson / txFromJson", () => {
  it("round-trip every kind exactly, amounts as exact decimal strings", () => {
    for (const tx of sampleTxs()) {
      const json = txToJson(tx);
      expect(json.id).toBe(toHex(txId(tx)));
      expect(json.from).toBe(addressFromPublicKey(alice.publicKey));
      // Through JSON text, as a client would send it.
      const back = txFromJson(JSON.parse(JSON.stringify(json)));
      expect(toHex(encodeTx(back)), tx.kind).toBe(toHex(encodeTx(tx)));
    }
    const transfer = txToJson(sampleTxs()[0]!);
    expect(transfer.amount).toBe("18446744073709551615");
    expect(transfer.fee).toBe("18446744073709551615");
    expect(transfer.to).toBe(addressFromPublicKey(bob.publicKey));
  });

  it("writes only the fields of each kind", () => {
    const keysOf = (tx: SignedTx) => Object.keys(txToJson(tx)).sort();
    const [transfer, stake, unstake, bpm, evidence] = sampleTxs();
    const common = ["fee", "from", "id", "kind", "nonce", "signature"];
    expect(keysOf(transfer!)).toEqual([...common, "amount", "to"].sort());
    expect(keysOf(stake!)).toEqual([...common, "amount"].sort());
    expect(keysOf(unstake!)).toEqual([...common, "amount"].sort());
    expect(keysOf(bpm!)).toEqual([...common, "bpm"].sort());
    expect(keysOf(evidence!)).toEqual([...common, "headerA", "headerB"].sort());
  });

  it("reads the hex form, and refuses ids and header hashes that do not match", () => {
    const tx = sampleTxs()[3]!;
    expect(txFromJson({ tx: toHex(encodeTx(tx)) })).toEqual(tx);
    expect(() => txFromJson({ ...txToJson(tx), id: "ff".repeat(32) })).toThrow(ApiError);
    const evidence = txToJson(sampleTxs()[4]!);
    expect(() =>
      txFromJson({ ...evidence, headerB: { ...evidence.headerB!, hash: evidence.headerA!.hash } }),
    ).toThrow(/headerB\.hash does not match/);
  });
});

describe("blockToJson", () => {
  it("flattens the header, names the proposer by address and lists the transactions", () => {
    const g = genesisBlock(genesis);
    const parent = { hash: g.hash, height: 0, slot: 0, state: g.state };
    const tx = sign({ kind: "bpm", from: alice.publicKey, nonce: 0, fee: 1n, bpm: 90 });
    const built = buildBlock({ config: genesis, parent, slot: 3, key: bob, candidates: [tx] });
    const json = blockToJson(built.block);
    expect(json).toEqual({
      ...headerToJson(built.block.header),
      txs: [txToJson(tx)],
    });
    expect(json.hash).toBe(toHex(headerHash(built.block.header)));
    expect(blockToJson(built.block, built.hash)).toEqual(json);
    expect(json).toMatchObject({
      height: 1,
      slot: 3,
      parentHash: toHex(g.hash),
      proposer: addressFromPublicKey(bob.publicKey),
      signature: toHex(built.block.header.signature),
    });
  });
});
