import {
  addressFromPublicKey,
  buildBlock,
  encodeTx,
  equalBytes,
  keyPairFromSeed,
  lotteryWinner,
  type SignedTx,
  signTx,
  toHex,
  txId,
} from "@cardio/core";
import { describe, expect, it } from "vitest";
import { txToJson } from "../../src/api/json.js";
import type { FakeNode } from "./fakeNode.js";
import { type Api, startApi } from "./harness.js";

function bpmTx(node: FakeNode, bpm = 72, nonce = 0, fee = 1n): SignedTx {
  return node.sign(0, { kind: "bpm", from: node.devnet.keys[0]!.publicKey, nonce, fee, bpm });
}

/** What a refused request must leave alone: the mempool and the head state. */
function snapshot(api: Api) {
  return {
    mempool: api.node.mempool.size,
    head: api.node.chain.head().hashHex,
    state: api.node.chain.head().state,
  };
}

async function expectRefused(
  api: Api,
  body: unknown,
  status: number,
  code: string,
  message?: RegExp,
  headers?: Record<string, string>,
): Promise<void> {
  const before = snapshot(api);
  const r = await api.post("/txs", body, headers);
  const what = JSON.stringify(body).slice(0, 80);
  expect(r.status, what).toBe(status);
  expect(Object.keys(r.body).sort(), what).toEqual(["code", "message"]);
  expect(r.body.code, what).toBe(code);
  if (message !== undefined) expect(r.body.message, what).toMatch(message);
  const after = snapshot(api);
  expect(after.mempool, what).toBe(before.mempool);
  expect(after.head, what).toBe(before.head);
  expect(after.state, what).toBe(before.state);
}

describe("POST /txs accepts a signed transaction", () => {
  it("as JSON, answering 202 with its id", async () => {
    const api = await startApi();
    const tx = bpmTx(api.node);
    const json = txToJson(tx);
    const { id: _id, ...withoutId } = json;
    const r = await api.post("/txs", withoutId);
    expect(r).toEqual({ status: 202, body: { id: toHex(txId(tx)) } });
    expect(api.node.mempool.has(json.id)).toBe(true);
  });

  it("as the hex of its canonical encoding", async () => {
    const api = await startApi();
    const { node } = api;
    const tx = node.sign(1, {
      kind: "transfer",
      from: node.devnet.keys[1]!.publicKey,
      nonce: 0,
      fee: 3n,
      to: node.devnet.keys[0]!.publicKey,
      amount: 400n,
    });
    const r = await api.post("/txs", { tx: toHex(encodeTx(tx)) });
    expect(r).toEqual({ status: 202, body: { id: toHex(txId(tx)) } });
    expect(node.mempool.get(r.body.id)).toEqual(tx);
  });

  it("of every kind, as txToJson writes it (id included) and with a JSON charset", async () => {
    const api = await startApi();
    const { node } = api;
    const from = node.devnet.keys[2]!.publicKey;
    const txs = [
      node.sign(2, { kind: "stake", from, nonce: 0, fee: 1n, amount: 10n }),
      node.sign(2, { kind: "unstake", from, nonce: 1, fee: 1n, amount: 5n }),
      node.sign(2, {
        kind: "transfer",
        from,
        nonce: 2,
        fee: 1n,
        to: node.devnet.keys[3]!.publicKey,
        amount: 1n,
      }),
      node.sign(2, { kind: "bpm", from, nonce: 3, fee: 0n, bpm: 300 }),
    ];
    for (const tx of txs) {
      const r = await api.post("/txs", txToJson(tx), { "content-type": "application/json; charset=utf-8" });
      expect(r, tx.kind).toEqual({ status: 202, body: { id: toHex(txId(tx)) } });
    }
    expect(node.mempool.size).toBe(4);
    await node.forge();
    expect(node.nonceOf(2)).toBe(4);
  });

  it("including evidence, whose headers round-trip through JSON", async () => {
    const api = await startApi();
    const { node } = api;
    // Two different headers signed by one proposer for one slot: build the same slot twice.
    const head = node.chain.head();
    const winner = lotteryWinner(head.state, head.hash, 1, node.config.minStake)!;
    const key = node.devnet.keys.find((k) => equalBytes(k.publicKey, winner.publicKey))!;
    const a = buildBlock({ config: node.config, parent: head, slot: 1, key, candidates: [] });
    const b = buildBlock({
      config: node.config,
      parent: head,
      slot: 1,
      key,
      candidates: [bpmTx(node, 99)],
    });
    const reporter = node.devnet.keys.findIndex((k) => !equalBytes(k.publicKey, key.publicKey));
    const evidence = node.sign(reporter, {
      kind: "evidence",
      from: node.devnet.keys[reporter]!.publicKey,
      nonce: 0,
      fee: 1n,
      headerA: a.block.header,
      headerB: b.block.header,
    });
    const json = txToJson(evidence);
    expect(json.headerA?.hash).toBe(toHex(a.hash));
    const r = await api.post("/txs", json);
    expect(r).toEqual({ status: 202, body: { id: toHex(txId(evidence)) } });
    const tampered = { ...json, headerA: { ...json.headerA!, hash: toHex(b.hash) } };
    await expectRefused(
      api,
      { ...tampered, id: undefined },
      400,
      "API_INVALID_REQUEST",
      /^body\.headerA\.hash does not match/,
    );
  });
});

describe("POST /txs refuses bad input with 4xx { code, message } and changes nothing", () => {
  it("BPM readings that are not whole numbers from 1 to 300", async () => {
    const api = await startApi();
    const json = txToJson(bpmTx(api.node));
    const cases: Array<[unknown, RegExp]> = [
      [0, /^body\.bpm must be at least 1, got 0$/],
      [301, /^body\.bpm must be at most 300, got 301$/],
      [72.5, /^body\.bpm must be an integer, got 72\.5$/],
      ["abc", /^body\.bpm must be an integer, got "abc"$/],
      ["72", /^body\.bpm must be an integer, got "72"$/],
      [true, /^body\.bpm must be an integer, got true$/],
      [null, /^body\.bpm must be an integer, got null$/],
      [-5, /^body\.bpm must be at least 1, got -5$/],
      [1e21, /^body\.bpm must be at most 300/],
    ];
    for (const [bpm, message] of cases) {
      await expectRefused(api, { ...json, id: undefined, bpm }, 400, "API_INVALID_REQUEST", message);
    }
  });

  it("negative, huge, fractional or non-string amounts and fees", async () => {
    const api = await startApi();
    const { node } = api;
    const json = txToJson(
      node.sign(0, { kind: "stake", from: node.devnet.keys[0]!.publicKey, nonce: 0, fee: 1n, amount: 5n }),
    );
    const u64 = /must be a decimal string of a whole number from 0 to 18446744073709551615/;
    for (const amount of [
      "-5",
      "18446744073709551616",
      "99999999999999999999999",
      "1.5",
      "1e3",
      "0x10",
      " 5",
      "05",
      "",
    ]) {
      await expectRefused(
        api,
        { ...json, amount },
        400,
        "API_INVALID_REQUEST",
        new RegExp(`^body\\.amount ${u64.source}`),
      );
    }
    await expectRefused(
      api,
      { ...json, amount: 5 },
      400,
      "API_INVALID_REQUEST",
      /^body\.amount must be a string, got 5$/,
    );
    await expectRefused(
      api,
      { ...json, fee: "-1" },
      400,
      "API_INVALID_REQUEST",
      /^body\.fee must be a decimal string/,
    );
    await expectRefused(
      api,
      { ...json, nonce: -1 },
      400,
      "API_INVALID_REQUEST",
      /^body\.nonce must be at least 0/,
    );
    await expectRefused(
      api,
      { ...json, nonce: "0" },
      400,
      "API_INVALID_REQUEST",
      /^body\.nonce must be an integer/,
    );
    await expectRefused(
      api,
      { ...json, nonce: 2 ** 53 },
      400,
      "API_INVALID_REQUEST",
      /^body\.nonce must be at most 9007199254740991/,
    );
    // The largest u64 passes the schema; then the state refuses it.
    const max = node.sign(0, {
      kind: "stake",
      from: node.devnet.keys[0]!.publicKey,
      nonce: 0,
      fee: 1n,
      amount: 18446744073709551615n,
    });
    await expectRefused(api, txToJson(max), 400, "TX_INSUFFICIENT_BALANCE");
  });

  it("an amount of zero (core's rule)", async () => {
    const api = await startApi();
    const { node } = api;
    const tx = node.sign(0, {
      kind: "stake",
      from: node.devnet.keys[0]!.publicKey,
      nonce: 0,
      fee: 1n,
      amount: 0n,
    });
    await expectRefused(api, txToJson(tx), 400, "TX_ZERO_AMOUNT");
  });

  it("wrong types, missing or unknown fields, unknown kinds", async () => {
    const api = await startApi();
    const json = txToJson(bpmTx(api.node));
    const { kind: _k, ...noKind } = json;
    const { signature: _s, ...noSignature } = json;
    const cases: Array<[unknown, RegExp]> = [
      [[], /^body must be a JSON object, got \[\]$/],
      [42, /^body must be a JSON object, got 42$/],
      [null, /^body must be a JSON object, got null$/],
      [noKind, /^body\.kind is required$/],
      [
        { ...json, kind: "mint" },
        /^body\.kind must be one of "transfer", "stake", "unstake", "bpm", "evidence", got "mint"$/,
      ],
      [{ ...json, kind: 3 }, /^body\.kind must be one of .*, got 3$/],
      [noSignature, /^body\.signature is required$/],
      [{ ...json, amount: "5" }, /^body has an unknown field "amount"$/],
      [{ ...json, amout: "5" }, /^body has an unknown field "amout"$/],
      [{ ...json, from: 12 }, /^body\.from must be a string, got 12$/],
      [{ ...json, signature: "zz" }, /^body\.signature must be 128 hex characters/],
      [{ ...json, signature: "ab".repeat(63) }, /^body\.signature must be 128 hex characters/],
      [{ tx: 5 }, /^body\.tx must be a string, got 5$/],
      [{ tx: "abc" }, /^body\.tx must be an even number of hex characters, got "abc"$/],
      [{ tx: "00", kind: "bpm" }, /^body has an unknown field "kind"$/],
      [{ tx: "00".repeat(1025) }, /^body\.tx must have at most 2048 characters$/],
    ];
    for (const [body, message] of cases) await expectRefused(api, body, 400, "API_INVALID_REQUEST", message);
  });

  it("malformed JSON, an empty body, a wrong content type, an oversized body", async () => {
    const api = await startApi();
    const json = JSON.stringify(txToJson(bpmTx(api.node)));
    await expectRefused(api, "{bad json", 400, "API_INVALID_JSON", /not valid JSON/);
    await expectRefused(api, json.slice(0, -1), 400, "API_INVALID_JSON");
    await expectRefused(api, '{"__proto__": {"x": 1}}', 400, "API_INVALID_JSON");
    await expectRefused(api, "", 400, "API_INVALID_JSON", /empty/);
    await expectRefused(api, json, 415, "API_UNSUPPORTED_MEDIA_TYPE", /application\/json/, {
      "content-type": "text/plain",
    });
    await expectRefused(api, json, 415, "API_UNSUPPORTED_MEDIA_TYPE", undefined, {
      "content-type": "application/x-www-form-urlencoded",
    });
    await expectRefused(api, `{"tx":"${"0".repeat(70_000)}"}`, 413, "API_BODY_TOO_LARGE", /65536 bytes/);
  });

  it("a smaller body limit when configured", async () => {
    const api = await startApi({ bodyLimit: 100 });
    await expectRefused(api, txToJson(bpmTx(api.node)), 413, "API_BODY_TOO_LARGE", /100 bytes/);
  });

  it("malformed addresses, with core's message and the field named", async () => {
    const api = await startApi();
    const { node } = api;
    const json = txToJson(
      node.sign(0, {
        kind: "transfer",
        from: node.devnet.keys[0]!.publicKey,
        nonce: 0,
        fee: 1n,
        to: node.devnet.keys[1]!.publicKey,
        amount: 1n,
      }),
    );
    await expectRefused(
      api,
      { ...json, to: "12D3KooWnope" },
      400,
      "CRYPTO_INVALID_ADDRESS",
      /^body\.to: address "12D3KooWnope"/,
    );
    await expectRefused(
      api,
      { ...json, from: "" },
      400,
      "API_INVALID_REQUEST",
      /^body\.from must have at least 1 characters$/,
    );
  });

  it("undecodable hex: truncated, trailing bytes, unknown kind", async () => {
    const api = await startApi();
    const bytes = encodeTx(bpmTx(api.node));
    await expectRefused(api, { tx: toHex(bytes.subarray(0, 50)) }, 400, "CODEC_TRUNCATED", /truncated/);
    await expectRefused(api, { tx: `${toHex(bytes)}00` }, 400, "CODEC_TRAILING_BYTES");
    const unknownKind = Uint8Array.from(bytes);
    unknownKind[0] = 9;
    await expectRefused(api, { tx: toHex(unknownKind) }, 400, "CODEC_UNKNOWN_KIND");
    await expectRefused(api, { tx: "" }, 400, "CODEC_TRUNCATED");
  });

  it("a bad signature, a signature from another chain, an id that does not match", async () => {
    const api = await startApi();
    const { node } = api;
    const tx = bpmTx(node);
    const json = txToJson(tx);
    const flipped = Uint8Array.from(tx.signature);
    flipped[10]! ^= 1;
    await expectRefused(api, { ...json, id: undefined, signature: toHex(flipped) }, 400, "TX_BAD_SIGNATURE");
    // Changing a signed field breaks the signature too.
    await expectRefused(api, { ...json, id: undefined, bpm: 73 }, 400, "TX_BAD_SIGNATURE");
    const otherChain = signTx(
      { kind: "bpm", from: node.devnet.keys[0]!.publicKey, nonce: 0, fee: 1n, bpm: 72 },
      node.devnet.keys[0]!,
      "another-chain",
    );
    await expectRefused(api, { tx: toHex(encodeTx(otherChain)) }, 400, "TX_BAD_SIGNATURE");
    await expectRefused(
      api,
      { ...json, id: "00".repeat(32) },
      400,
      "API_INVALID_REQUEST",
      /^body\.id does not match/,
    );
  });

  it("a reused nonce, a duplicate, an underpriced replacement, a nonce too far ahead", async () => {
    const api = await startApi();
    const { node } = api;
    const first = bpmTx(node, 70, 0, 5n);
    expect((await api.post("/txs", txToJson(first))).status).toBe(202);
    await expectRefused(api, txToJson(first), 409, "MEMPOOL_DUPLICATE");
    await expectRefused(api, txToJson(bpmTx(node, 71, 0, 5n)), 409, "MEMPOOL_REPLACEMENT_UNDERPRICED");
    await expectRefused(api, txToJson(bpmTx(node, 71, 500)), 400, "MEMPOOL_NONCE_GAP");
    await node.forge();
    expect(node.nonceOf(0)).toBe(1);
    await expectRefused(
      api,
      txToJson(bpmTx(node, 75, 0)),
      409,
      "TX_NONCE_TOO_LOW",
      /nonce 0 was already used/,
    );
  });

  it("spending from an unknown (valid, empty) address, or more than the balance", async () => {
    const api = await startApi();
    const { node } = api;
    const stranger = keyPairFromSeed(new Uint8Array(32).fill(7));
    const fromStranger = signTx(
      {
        kind: "transfer",
        from: stranger.publicKey,
        nonce: 0,
        fee: 1n,
        to: node.devnet.keys[0]!.publicKey,
        amount: 10n,
      },
      stranger,
      node.config.chainId,
    );
    await expectRefused(api, txToJson(fromStranger), 400, "TX_INSUFFICIENT_BALANCE");
    expect((await api.get(`/accounts/${addressFromPublicKey(stranger.publicKey)}`)).body.balance).toBe("0");
    const tooMuch = node.sign(0, {
      kind: "stake",
      from: node.devnet.keys[0]!.publicKey,
      nonce: 0,
      fee: 1n,
      amount: 1000n,
    });
    await expectRefused(
      api,
      txToJson(tooMuch),
      400,
      "TX_INSUFFICIENT_BALANCE",
      /balance 1000 is less than the 1001/,
    );
    const unstakeTooMuch = node.sign(0, {
      kind: "unstake",
      from: node.devnet.keys[0]!.publicKey,
      nonce: 0,
      fee: 1n,
      amount: 101n,
    });
    await expectRefused(api, txToJson(unstakeTooMuch), 400, "TX_INSUFFICIENT_STAKE");
  });
});
