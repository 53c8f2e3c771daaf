import { createDevnet, type SignedTx, signTx, toHex, txId } from "@cardio/core";
import { afterEach, describe, expect, it } from "vitest";
import { type ApiServer, createApiServer } from "../../src/api/apiServer.js";
import { txToJson } from "../../src/api/json.js";
import { createNode } from "../../src/node.js";
import type { CardioNode } from "../../src/nodeTypes.js";
import { parseExposition, sampleValue } from "../metrics/exposition.js";

async function until<T>(probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the API over a real node (createNode, one validator, no peers)", () => {
  let node: CardioNode | undefined;
  let server: ApiServer | undefined;
  afterEach(async () => {
    await server?.stop();
    await node?.stop();
  });

  it("serves a forging node: submit a BPM reading, watch it land, stream slots, scrape metrics", async () => {
    const { genesis, keys } = createDevnet({
      seed: "cardio-api-real-node",
      validators: 1,
      slotMs: 200,
      genesisTime: Date.now() + 300,
    });
    const key = keys[0]!;
    node = createNode({ genesis, key, mdns: false, slotLog: false });
    await node.start();
    server = createApiServer({ node });
    const { url } = await server.start();
    const get = async (path: string) => {
      const res = await fetch(url + path);
      return { status: res.status, body: await res.json() };
    };

    const events = await fetch(`${url}/events`);
    const reader = events.body!.getReader();
    let text = "";
    const slotFrame = until(async () => {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
      return /event: slot\ndata: .*"forgedByUs":true/.test(text) ? text : undefined;
    });

    const tx: SignedTx = signTx(
      { kind: "bpm", from: key.publicKey, nonce: 0, fee: 1n, bpm: 72 },
      key,
      genesis.chainId,
    );
    const id = toHex(txId(tx));
    const posted = await fetch(`${url}/txs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(txToJson(tx)),
    });
    expect(posted.status).toBe(202);
    expect(await posted.json()).toEqual({ id });

    const included = await until(async () => {
      const r = await get(`/txs/${id}`);
      return r.body.status === "included" ? r.body : undefined;
    });
    const block = await get(`/blocks/${included.height}`);
    expect(block.body.hash).toBe(included.blockHash);
    expect(block.body.proposer).toBe(node.peerId);
    expect(block.body.txs).toEqual([txToJson(tx)]);
    expect((await get(`/accounts/${node.peerId}`)).body.nonce).toBe(1);

    expect(await slotFrame).toContain(`"winner":"${node.peerId}"`);
    await reader.cancel();

    expect(await get("/health")).toEqual({ status: 200, body: { status: "synced" } });
    const status = await get("/status");
    expect(status.body).toMatchObject({ chainId: genesis.chainId, peerId: node.peerId, syncState: "synced" });
    const validators = await get("/validators");
    expect(validators.body.validators).toEqual([
      expect.objectContaining({ address: node.peerId, share: 1, sharePercent: "100.00%" }),
    ]);
    expect(validators.body.validators[0].blocksForged).toBeGreaterThanOrEqual(included.height);

    const metrics = await fetch(`${url}/metrics`);
    const families = parseExposition(await metrics.text());
    expect(sampleValue(families, "cardio_head_height")).toBeGreaterThanOrEqual(included.height);
    expect(sampleValue(families, "cardio_blocks_forged_total")).toBeGreaterThanOrEqual(included.height);
  }, 30_000);
});
