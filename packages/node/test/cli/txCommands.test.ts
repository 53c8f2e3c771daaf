import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  addressFromPublicKey,
  devnetKeyPair,
  encodeTx,
  isValidTxSignature,
  publicKeyFromAddress,
  type SignedTx,
  toHex,
  txId,
} from "@cardio/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { encodeKeyFile } from "../../src/cli/keyFile.js";
import {
  type CardioCommand,
  isOneLineError,
  prepareCardio,
  type RunResult,
  runCardio,
} from "./harness/cardioBinary.js";
import { type FakeNode, startFakeNode } from "./harness/fakeNode.js";

const me = devnetKeyPair("tx-tests", 0);
const myAddress = addressFromPublicKey(me.publicKey);
const other = addressFromPublicKey(devnetKeyPair("tx-tests", 1).publicKey);

/** Blocks as the API serves them: height 0 is genesis, then one bpm and one transfer. */
function blockJson(height: number, txs: unknown[] = []): unknown {
  const h = height.toString(16).padStart(2, "0");
  return {
    hash: h.repeat(32),
    height,
    slot: height * 2,
    parentHash: "00".repeat(32),
    proposer: height % 2 === 0 ? myAddress : other,
    txRoot: "00".repeat(32),
    stateRoot: "00".repeat(32),
    signature: "00".repeat(64),
    txs,
  };
}
const BLOCKS = [
  blockJson(0),
  blockJson(1, [
    { id: "aa".repeat(32), kind: "bpm", from: myAddress, nonce: 0, fee: "0", bpm: 72, signature: "" },
  ]),
  blockJson(2, [
    {
      id: "bb".repeat(32),
      kind: "transfer",
      from: other,
      to: myAddress,
      amount: "15",
      nonce: 0,
      fee: "1",
      signature: "",
    },
    { id: "cc".repeat(32), kind: "stake", from: myAddress, amount: "40", nonce: 1, fee: "0", signature: "" },
  ]),
  ...Array.from({ length: 127 }, (_, i) => blockJson(i + 3)),
];

let cardio: CardioCommand;
let dir: string;
let node: FakeNode;
let keyFile: string;

beforeAll(async () => {
  cardio = await prepareCardio();
  dir = await mkdtemp(join(tmpdir(), "cardio-cli-tx-"));
  keyFile = join(dir, "me.key");
  await writeFile(keyFile, encodeKeyFile(me), { mode: 0o600 });
  node = await startFakeNode({ chainId: "cardio-tx-test", blocks: BLOCKS });
});
afterAll(async () => {
  await node.close();
  await cardio.cleanup();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  node.requests.length = 0;
  node.txs.length = 0;
  node.postReplies.length = 0;
  node.txStatusReplies.length = 0;
  node.nonces = { [myAddress]: 3 };
});

const run = (args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
  runCardio(cardio, [...args, "--node", node.url], { cwd: dir, env: { CARDIO_KEY: keyFile, ...env } });

/** The one transaction the node accepted, checked to be signed by `me` for this chain only. */
function accepted(): SignedTx {
  expect(node.txs).toHaveLength(1);
  const tx = node.txs[0]!;
  expect(Buffer.from(tx.from)).toEqual(Buffer.from(me.publicKey));
  expect(isValidTxSignature(tx, node.chainId)).toBe(true);
  expect(isValidTxSignature(tx, "cardio-other")).toBe(false);
  return tx;
}

describe("transactions are signed locally and submitted as canonical hex", () => {
  it("stake: chain id from /status, nonce from /accounts, fee 0 by default", async () => {
    const r = await run(["stake", "50"]);
    expect(r.code, r.stderr).toBe(0);
    const tx = accepted();
    expect(tx).toMatchObject({ kind: "stake", amount: 50n, nonce: 3, fee: 0n });
    expect(node.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      "GET /status",
      `GET /accounts/${myAddress}`,
      "POST /txs",
    ]);
    const posted = JSON.parse(node.requests[2]!.body) as { tx: string };
    expect(posted).toEqual({ tx: toHex(encodeTx(tx)) });
    expect(r.stdout).toContain(`tx ${toHex(txId(tx))} submitted: stake 50 (nonce 3, fee 0)`);
  });

  it("unstake with --fee and an explicit --nonce asks no nonce", async () => {
    const r = await run(["unstake", "5", "--fee", "2", "--nonce", "9"]);
    expect(r.code, r.stderr).toBe(0);
    expect(accepted()).toMatchObject({ kind: "unstake", amount: 5n, nonce: 9, fee: 2n });
    expect(node.requests.some((q) => q.path.startsWith("/accounts"))).toBe(false);
  });

  it("transfer to an address", async () => {
    const r = await run(["transfer", other, "18446744073709551615"]);
    expect(r.code, r.stderr).toBe(0);
    const tx = accepted();
    expect(tx).toMatchObject({ kind: "transfer", amount: 18446744073709551615n });
    expect(tx.kind === "transfer" && Buffer.from(tx.to)).toEqual(Buffer.from(publicKeyFromAddress(other)));
  });

  it("bpm with --wait polls until included and prints the height; --json for scripts", async () => {
    node.txStatusReplies.push({ status: 200, body: { status: "pending" } });
    const r = await run(["bpm", "72", "--wait"]);
    expect(r.code, r.stderr).toBe(0);
    const id = toHex(txId(accepted()));
    expect(node.txs[0]).toMatchObject({ kind: "bpm", bpm: 72 });
    expect(r.stdout).toContain(`tx ${id} included at height 7`);
    expect(node.requests.filter((q) => q.path === `/txs/${id}`)).toHaveLength(2);

    node.txs.length = 0;
    const j = await run(["bpm", "80", "--wait", "--json"]);
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual({ id: toHex(txId(node.txs[0]!)), nonce: 3, height: 7 });
  });

  it("--wait reports a transaction the node dropped", async () => {
    for (let i = 0; i < 3; i++) node.txStatusReplies.push({ status: 404, body: { status: "unknown" } });
    const r = await run(["bpm", "72", "--wait"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^error: tx [0-9a-f]{64} is unknown at the node: it was dropped/);
    expect(isOneLineError(r.stderr)).toBe(true);
  });
});

describe("nonces and refusals", () => {
  it("skips nonces held by this key's pending transactions", async () => {
    const pending = {
      code: "MEMPOOL_REPLACEMENT_UNDERPRICED",
      message: "a transaction with nonce 3 is already pending with fee 0",
    };
    node.postReplies.push(
      { status: 409, body: pending },
      { status: 409, body: { ...pending, code: "MEMPOOL_DUPLICATE" } },
    );
    const r = await run(["bpm", "72"]);
    expect(r.code, r.stderr).toBe(0);
    expect(accepted().nonce).toBe(5);
    expect(r.stdout).toContain("(nonce 5, fee 0)");
  });

  it("asks again once when a block used the nonce meanwhile", async () => {
    node.postReplies.push({
      status: 409,
      body: { code: "TX_NONCE_TOO_LOW", message: "nonce 3 was already used (next is 4)" },
    });
    node.nonces = { [myAddress]: 3 };
    const r = await run(["stake", "1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(accepted().nonce).toBe(4);
  });

  it("an explicit nonce that is too low is reported clearly", async () => {
    node.postReplies.push({
      status: 409,
      body: { code: "TX_NONCE_TOO_LOW", message: "nonce 1 was already used (next is 3)" },
    });
    const r = await run(["stake", "1", "--nonce", "1"]);
    expect(r.code).not.toBe(0);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr).toContain(
      "error: the node refused the transaction (TX_NONCE_TOO_LOW): nonce 1 was already used (next is 3); " +
        "leave out --nonce to use the next one",
    );
  });

  it("any other refusal is one line with the node's code and message", async () => {
    node.postReplies.push({
      status: 400,
      body: { code: "TX_INSUFFICIENT_BALANCE", message: "balance 10 < 1000" },
    });
    const r = await run(["transfer", other, "1000"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(
      "error: the node refused the transaction (TX_INSUFFICIENT_BALANCE): balance 10 < 1000\n",
    );
  });
});

describe("status and chain", () => {
  it("status as text and as JSON", async () => {
    const text = await run(["status"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^node +http:\/\/127\.0\.0\.1:\d+\n/);
    expect(text.stdout).toMatch(/chain +cardio-tx-test \(genesis abababab\)/);
    expect(text.stdout).toMatch(/head +#129 +slot 41 +cdcdcdcd/);
    expect(text.stdout).toMatch(/sync +synced/);
    const json = await run(["status", "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ chainId: "cardio-tx-test", head: { height: 129 } });
  });

  it("chain shows blocks and summarises their transactions", async () => {
    const r = await run(["chain", "--from", "0", "--limit", "3"]);
    expect(r.code, r.stderr).toBe(0);
    const short = (a: string) => `${a.slice(0, 4)}…${a.slice(-6)}`;
    expect(r.stdout.split("\n")).toEqual([
      "#0  slot 0  00000000  genesis  0 txs",
      `#1  slot 2  01010101  by ${short(other)}  1 tx`,
      `    bpm 72 from ${short(myAddress)}`,
      `#2  slot 4  02020202  by ${short(myAddress)}  2 txs`,
      `    transfer 15 to ${short(myAddress)} from ${short(other)}`,
      `    stake 40 from ${short(myAddress)}`,
      "",
    ]);
  });

  it("chain without --from shows the latest blocks, paging past the node's 100-block limit", async () => {
    const latest = await run(["chain", "--limit", "2"]);
    expect(latest.stdout.split("\n").filter((l) => l.startsWith("#"))).toEqual([
      expect.stringMatching(/^#128 /),
      expect.stringMatching(/^#129 /),
    ]);
    node.requests.length = 0;
    const many = await run(["chain", "--from", "0", "--limit", "150", "--json"]);
    expect(many.code, many.stderr).toBe(0);
    const blocks = JSON.parse(many.stdout) as { height: number }[];
    expect(blocks.map((b) => b.height)).toEqual(Array.from({ length: 130 }, (_, i) => i));
    expect(node.requests.map((q) => q.path)).toEqual([
      "/blocks?from=0&limit=100",
      "/blocks?from=100&limit=50",
    ]);
  });
});
