import { addressFromPublicKey, keyPairFromSeed, toHex, txId } from "@cardio/core";
import { describe, expect, it } from "vitest";
import { createApiServer } from "../../src/api/apiServer.js";
import { blockToJson, txToJson } from "../../src/api/json.js";
import { parseExposition, sampleValue } from "../metrics/exposition.js";
import { createFakeNode } from "./fakeNode.js";
import { startApi } from "./harness.js";

describe("GET /health and /status", () => {
  it("answers 200 synced, 206 syncing with progress", async () => {
    const api = await startApi();
    expect(await api.get("/health")).toMatchObject({ status: 200, body: { status: "synced" } });
    api.node.syncState = "syncing";
    const syncing = await api.get("/health");
    expect(syncing.status).toBe(206);
    expect(syncing.body).toEqual({
      status: "syncing",
      sync: { done: 5, target: 50, blocksPerSecond: 12.5, etaSeconds: 3.6 },
    });
  });

  it("serves the node status", async () => {
    const api = await startApi();
    await api.node.forge();
    const { status, body } = await api.get("/status");
    expect(status).toBe(200);
    expect(body).toEqual(api.node.status());
    expect(body.head.height).toBe(1);
  });
});

describe("GET /blocks", () => {
  it("pages the canonical chain in ascending order", async () => {
    const api = await startApi();
    for (let i = 0; i < 5; i++) await api.node.forge();
    const all = await api.get("/blocks");
    expect(all.status).toBe(200);
    expect(all.body.headHeight).toBe(5);
    expect(all.body.blocks.map((b: { height: number }) => b.height)).toEqual([0, 1, 2, 3, 4, 5]);
    for (let h = 1; h <= 5; h++) expect(all.body.blocks[h].parentHash).toBe(all.body.blocks[h - 1].hash);

    const page = await api.get("/blocks?from=2&limit=2");
    expect(page.body.blocks.map((b: { height: number }) => b.height)).toEqual([2, 3]);
    const canonical = await api.node.chain.canonicalBlockAt(2);
    expect(page.body.blocks[0]).toEqual(blockToJson(canonical!.block, canonical!.hash));

    expect((await api.get("/blocks?from=99")).body).toEqual({ headHeight: 5, blocks: [] });
  });

  it("defaults to 20 blocks and refuses a limit above 100 or a malformed query", async () => {
    const api = await startApi();
    for (let i = 0; i < 22; i++) await api.node.forge();
    expect((await api.get("/blocks")).body.blocks).toHaveLength(20);
    expect((await api.get("/blocks?limit=100")).body.blocks).toHaveLength(23);
    const cases: Array<[string, RegExp]> = [
      ["/blocks?limit=101", /^querystring\.limit must be at most 100, got 101$/],
      ["/blocks?limit=0", /^querystring\.limit must be at least 1/],
      ["/blocks?from=-1", /^querystring\.from must be at least 0/],
      ["/blocks?from=abc", /^querystring\.from must be an integer, got "abc"$/],
      ["/blocks?from=1.5", /^querystring\.from must be an integer/],
      ["/blocks?from=1&from=2", /^querystring\.from must be an integer/],
      ["/blocks?colour=red", /^querystring has an unknown field "colour"$/],
    ];
    for (const [path, message] of cases) {
      const r = await api.get(path);
      expect(r.status, path).toBe(400);
      expect(r.body.code, path).toBe("API_INVALID_REQUEST");
      expect(r.body.message, path).toMatch(message);
    }
  });
});

describe("GET /blocks/:heightOrHash", () => {
  it("finds a block by height or by hash, with its transactions as JSON", async () => {
    const api = await startApi();
    const { node } = api;
    const from = node.devnet.keys[1]!.publicKey;
    const to = node.devnet.keys[2]!.publicKey;
    const transfer = node.sign(1, { kind: "transfer", from, nonce: 0, fee: 2n, to, amount: 25n });
    const bpm = node.sign(1, { kind: "bpm", from, nonce: 1, fee: 1n, bpm: 72 });
    await node.submitTx(transfer);
    await node.submitTx(bpm);
    const block = await node.forge();
    const byHeight = await api.get("/blocks/1");
    expect(byHeight.status).toBe(200);
    expect(byHeight.body).toEqual(blockToJson(block));
    expect(byHeight.body.proposer).toMatch(/^12D3KooW/);
    expect(byHeight.body.txs).toEqual([
      {
        id: toHex(txId(transfer)),
        kind: "transfer",
        from: node.address(1),
        nonce: 0,
        fee: "2",
        to: node.address(2),
        amount: "25",
        signature: toHex(transfer.signature),
      },
      {
        id: toHex(txId(bpm)),
        kind: "bpm",
        from: node.address(1),
        nonce: 1,
        fee: "1",
        bpm: 72,
        signature: toHex(bpm.signature),
      },
    ]);
    const byHash = await api.get(`/blocks/${byHeight.body.hash}`);
    expect(byHash.body).toEqual(byHeight.body);
    expect((await api.get(`/blocks/${byHeight.body.hash.toUpperCase()}`)).body).toEqual(byHeight.body);
  });

  it("answers 404 for an unknown block and 400 for neither a height nor a hash", async () => {
    const api = await startApi();
    expect(await api.get("/blocks/7")).toMatchObject({
      status: 404,
      body: { code: "API_NOT_FOUND", message: "no block at height 7" },
    });
    expect(await api.get(`/blocks/${"ab".repeat(32)}`)).toMatchObject({
      status: 404,
      body: { code: "API_NOT_FOUND" },
    });
    for (const bad of ["abc", "-1", "1.5", "ab".repeat(31), "99999999999999999"]) {
      const r = await api.get(`/blocks/${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.body.message, bad).toMatch(/^params\.heightOrHash must be a decimal block height or a 64-hex/);
    }
  });
});

describe("GET /accounts/:address", () => {
  it("shows balance, stake, unbonding and nonce as in the head state", async () => {
    const api = await startApi();
    const { node } = api;
    const from = node.devnet.keys[2]!.publicKey;
    await node.submitTx(node.sign(2, { kind: "unstake", from, nonce: 0, fee: 1n, amount: 50n }));
    const block = await node.forge();
    const { status, body } = await api.get(`/accounts/${node.address(2)}`);
    expect(status).toBe(200);
    const reward = block.header.proposer.every((b, i) => b === from[i]) ? 10n + 1n : 0n;
    expect(body).toEqual({
      address: node.address(2),
      balance: (1000n - 1n + reward).toString(),
      stake: "250",
      unbonding: [{ amount: "50", releaseSlot: block.header.slot + node.config.unbondingDelay }],
      nonce: 1,
      pendingNonce: 1,
      validator: true,
    });
    expect((await api.get(`/accounts/${node.address(3)}`)).body.validator).toBe(false); // 5 < minStake
  });

  it("shows zeros for a valid address that never received anything", async () => {
    const api = await startApi();
    const stranger = addressFromPublicKey(keyPairFromSeed(new Uint8Array(32).fill(9)).publicKey);
    expect(await api.get(`/accounts/${stranger}`)).toEqual({
      status: 200,
      headers: expect.anything(),
      body: {
        address: stranger,
        balance: "0",
        stake: "0",
        unbonding: [],
        nonce: 0,
        pendingNonce: 0,
        validator: false,
      },
    });
  });

  it("answers 400 with core's message for a malformed address", async () => {
    const api = await startApi();
    for (const bad of [
      "xyz",
      "0OIl",
      "12D3KooWJhymWWYQqNW4FYNLtztVQv9gLChHQkxC29txVNrGwL5",
      "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",
    ]) {
      const r = await api.get(`/accounts/${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.body.code, bad).toBe("CRYPTO_INVALID_ADDRESS");
      expect(r.body.message, bad).toContain(JSON.stringify(bad));
    }
    const long = await api.get(`/accounts/${"x".repeat(200)}`);
    expect(long).toMatchObject({
      status: 400,
      body: { code: "API_INVALID_REQUEST", message: "params.address must have at most 128 characters" },
    });
  });
});

describe("GET /validators", () => {
  it("lists the head's validators with stake, share and blocks forged", async () => {
    const api = await startApi();
    for (let i = 0; i < 6; i++) await api.node.forge();
    const { status, body } = await api.get("/validators");
    expect(status).toBe(200);
    expect(body.height).toBe(6);
    expect(body.totalStake).toBe("600"); // 100 + 200 + 300; the 5-token account is below minStake
    const byAddress = new Map(body.validators.map((v: { address: string }) => [v.address, v]));
    expect(byAddress.size).toBe(3);
    expect(byAddress.get(api.node.address(3))).toBeUndefined();
    expect(byAddress.get(api.node.address(2))).toMatchObject({
      stake: "300",
      share: 0.5,
      sharePercent: "50.00%",
    });
    expect(byAddress.get(api.node.address(0))).toMatchObject({ stake: "100", sharePercent: "16.67%" });
    expect((byAddress.get(api.node.address(0)) as { share: number }).share).toBeCloseTo(1 / 6, 10);
    const forged = api.node.blocksForged();
    let total = 0;
    for (const v of body.validators) {
      expect(v.blocksForged).toBe(forged.get(v.address) ?? 0);
      total += v.blocksForged;
    }
    expect(total).toBe(6);
  });
});

describe("GET /txs/:id", () => {
  it("follows a transaction from pending to included", async () => {
    const api = await startApi();
    const { node } = api;
    const tx = node.sign(0, {
      kind: "bpm",
      from: node.devnet.keys[0]!.publicKey,
      nonce: 0,
      fee: 1n,
      bpm: 80,
    });
    const id = toHex(txId(tx));
    expect(await api.get(`/txs/${id}`)).toMatchObject({
      status: 404,
      body: { status: "unknown", code: "API_NOT_FOUND" },
    });
    await node.submitTx(tx);
    expect(await api.get(`/txs/${id}`)).toMatchObject({ status: 200, body: { status: "pending" } });
    await node.forge();
    const hash = (await node.chain.canonicalBlockAt(1))!.hash;
    expect((await api.get(`/txs/${id.toUpperCase()}`)).body).toEqual({
      status: "included",
      height: 1,
      blockHash: toHex(hash),
    });
    expect(await api.get("/txs/1234")).toMatchObject({ status: 400, body: { code: "API_INVALID_REQUEST" } });
  });
});

describe("GET /metrics", () => {
  it("serves the node's registry in valid Prometheus exposition format", async () => {
    const api = await startApi();
    await api.node.forge();
    api.node.nodeMetrics.gossipMessages.inc({ topic: "txs", verdict: "ignore" });
    const res = await fetch(`${api.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parseExposition(await res.text());
    expect(sampleValue(families, "cardio_head_height")).toBe(1);
    expect(sampleValue(families, "cardio_blocks_imported_total", { source: "local" })).toBe(1);
    expect(sampleValue(families, "cardio_gossip_messages_total", { topic: "txs", verdict: "ignore" })).toBe(
      1,
    );
  });
});

describe("errors", () => {
  it("answers an unknown route with 404 { code, message }", async () => {
    const api = await startApi();
    expect(await api.get("/nope?x=1")).toMatchObject({
      status: 404,
      body: { code: "API_NOT_FOUND", message: "no route GET /nope" },
    });
    const del = await fetch(`${api.url}/status`, { method: "DELETE" });
    expect(del.status).toBe(404);
    expect(await del.json()).toEqual({ code: "API_NOT_FOUND", message: "no route DELETE /status" });
  });

  it("answers 500 without internals, and logs the error", async () => {
    const logged: Array<Record<string, unknown>> = [];
    const noop = () => {};
    const api = await startApi({
      logger: { debug: noop, info: noop, warn: noop, error: (obj) => logged.push(obj) },
    });
    api.node.failSubmit = new Error("secret /home/me/.cardio/key stack");
    const tx = api.node.sign(0, {
      kind: "bpm",
      from: api.node.devnet.keys[0]!.publicKey,
      nonce: 0,
      fee: 1n,
      bpm: 70,
    });
    const r = await api.post("/txs", txToJson(tx));
    expect(r).toEqual({ status: 500, body: { code: "API_INTERNAL", message: "internal error" } });
    expect(JSON.stringify(logged)).toContain("secret");
  });
});

describe("server", () => {
  it("listens on 127.0.0.1 by default, on the port asked for, and stops twice safely", async () => {
    const node = await createFakeNode();
    const server = createApiServer({ node });
    const addr = await server.start();
    expect(addr.host).toBe("127.0.0.1");
    expect(addr.url).toBe(`http://127.0.0.1:${addr.port}`);
    await expect(server.start()).rejects.toThrow(/already started/);
    await server.stop();
    await server.stop();
    await expect(fetch(`${addr.url}/health`)).rejects.toThrow();
    await node.stop();
  });

  it("serves an OpenAPI 3.1 document generated from the route schemas", async () => {
    const api = await startApi();
    const { status, body: doc } = await api.get("/openapi.json");
    expect(status).toBe(200);
    expect(doc).toEqual(api.server.openapi);
    expect(doc.openapi).toBe("3.1.0");
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(operations.sort()).toEqual(
      [
        "GET /health",
        "GET /status",
        "GET /blocks",
        "GET /blocks/{heightOrHash}",
        "GET /accounts/{address}",
        "GET /validators",
        "POST /txs",
        "GET /txs/{id}",
        "GET /events",
        "GET /metrics",
        "GET /openapi.json",
      ].sort(),
    );
    // Every $ref resolves, and every path parameter is declared.
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      const name = ref.slice('"$ref":"#/components/schemas/'.length, -1);
      expect(doc.components.schemas[name], ref).toBeDefined();
    }
    const getBlock = doc.paths["/blocks/{heightOrHash}"].get;
    expect(getBlock.parameters).toEqual([
      expect.objectContaining({ name: "heightOrHash", in: "path", required: true }),
    ]);
    expect(doc.paths["/blocks"].get.parameters.map((p: { name: string }) => p.name)).toEqual([
      "from",
      "limit",
    ]);
    expect(doc.paths["/txs"].post.requestBody.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/TxSubmission",
    });
    expect(doc.components.schemas.JsonTxInput.discriminator.mapping.bpm).toBe(
      "#/components/schemas/BpmTxInput",
    );
    expect(doc.components.schemas.BpmTxInput.properties.bpm).toMatchObject({ minimum: 1, maximum: 300 });
    expect(doc.paths["/events"].get.responses["200"].content).toHaveProperty("text/event-stream");
  });
});

describe("GET /accounts/:address pendingNonce", () => {
  it("counts the sender's transactions waiting in the mempool", async () => {
    const api = await startApi();
    const { node } = api;
    const from = node.devnet.keys[1]!.publicKey;
    await node.submitTx(node.sign(1, { kind: "bpm", from, nonce: 0, fee: 0n, bpm: 60 }));
    await node.submitTx(node.sign(1, { kind: "bpm", from, nonce: 1, fee: 0n, bpm: 61 }));
    const { body } = await api.get(`/accounts/${node.address(1)}`);
    expect(body.nonce).toBe(0);
    expect(body.pendingNonce).toBe(2);
  });
});
