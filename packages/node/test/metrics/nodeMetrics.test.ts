import { buildBlock, equalBytes, lotteryWinner, toHex } from "@cardio/core";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { ChainNode } from "../../src/chain/chain.js";
import { createNodeMetrics } from "../../src/metrics/nodeMetrics.js";
import { createFakeNode, type FakeNode } from "../api/fakeNode.js";
import { parseExposition, sampleValue } from "./exposition.js";

const nodes: FakeNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});
async function fakeNode(): Promise<FakeNode> {
  const n = await createFakeNode();
  nodes.push(n);
  return n;
}

describe("createNodeMetrics", () => {
  it("registers every metric, with HELP and TYPE, on the registry it is given", async () => {
    const registry = new Registry();
    const m = createNodeMetrics(registry);
    m.blocksImported.inc({ source: "gossip" });
    m.gossipMessages.inc({ topic: "blocks", verdict: "reject" });
    m.mempoolDropped.inc({ reason: "evicted" });
    m.blockImportSeconds.observe(0.003);
    const families = parseExposition(await registry.metrics());
    const expected: Record<string, string> = {
      cardio_head_height: "gauge",
      cardio_head_slot: "gauge",
      cardio_current_slot: "gauge",
      cardio_peers: "gauge",
      cardio_mempool_size: "gauge",
      cardio_sync_target_height: "gauge",
      cardio_sync_done_blocks: "gauge",
      cardio_syncing: "gauge",
      cardio_blocks_forged_total: "counter",
      cardio_slots_missed_total: "counter",
      cardio_slots_empty_total: "counter",
      cardio_blocks_imported_total: "counter",
      cardio_gossip_messages_total: "counter",
      cardio_mempool_dropped_total: "counter",
      cardio_reorgs_total: "counter",
      cardio_block_import_seconds: "histogram",
    };
    for (const [name, type] of Object.entries(expected)) {
      expect(families.get(name)?.type, name).toBe(type);
      expect(families.get(name)?.help, name).toMatch(/\S/);
    }
    expect(sampleValue(families, "cardio_syncing")).toBe(0);
    expect(
      sampleValue(families, "cardio_gossip_messages_total", { topic: "blocks", verdict: "reject" }),
    ).toBe(1);
    expect(sampleValue(families, "cardio_block_import_seconds_count")).toBe(1);
    expect(sampleValue(families, "cardio_block_import_seconds_bucket", { le: "0.005" })).toBe(1);
    expect(sampleValue(families, "cardio_block_import_seconds_bucket", { le: "0.0025" })).toBe(0);
  });

  it("keeps nodes apart: one registry each, never the global one", async () => {
    const a = createNodeMetrics(new Registry());
    const b = createNodeMetrics(new Registry());
    a.headHeight.set(7);
    b.headHeight.set(3);
    expect(sampleValue(parseExposition(await a.registry.metrics()), "cardio_head_height")).toBe(7);
    expect(sampleValue(parseExposition(await b.registry.metrics()), "cardio_head_height")).toBe(3);
    const { register } = await import("prom-client");
    expect(register.getSingleMetric("cardio_head_height")).toBeUndefined();
  });

  it("refuses to register twice on one registry", () => {
    const registry = new Registry();
    createNodeMetrics(registry);
    expect(() => createNodeMetrics(registry)).toThrow(/already been registered/);
  });

  it("adds the process metrics under cardio_process_ and cardio_nodejs_ when asked", async () => {
    const registry = new Registry();
    createNodeMetrics(registry, { processMetrics: true });
    const families = parseExposition(await registry.metrics());
    expect(families.get("cardio_process_cpu_seconds_total")?.type).toBe("counter");
    expect(families.get("cardio_nodejs_heap_size_used_bytes")?.type).toBe("gauge");
    expect([...families.keys()].every((n) => n.startsWith("cardio_"))).toBe(true);
  });
});

describe("bindChainMetrics", () => {
  it("follows head, imports, mempool size and drops", async () => {
    const node = await fakeNode();
    const read = async () => parseExposition(await node.metrics.metrics());
    const from = node.devnet.keys[0]!.publicKey;
    await node.submitTx(node.sign(0, { kind: "bpm", from, nonce: 0, fee: 1n, bpm: 60 }));
    expect(sampleValue(await read(), "cardio_mempool_size")).toBe(1);
    // A higher fee for the same nonce replaces the pending one: a drop with reason "replaced".
    await node.submitTx(node.sign(0, { kind: "bpm", from, nonce: 0, fee: 2n, bpm: 61 }));
    let f = await read();
    expect(sampleValue(f, "cardio_mempool_size")).toBe(1);
    expect(sampleValue(f, "cardio_mempool_dropped_total", { reason: "replaced" })).toBe(1);

    await node.forge();
    await node.forge();
    f = await read();
    expect(sampleValue(f, "cardio_head_height")).toBe(2);
    expect(sampleValue(f, "cardio_head_slot")).toBe(2);
    expect(sampleValue(f, "cardio_blocks_imported_total", { source: "local" })).toBe(2);
    // Included is not a drop.
    expect(sampleValue(f, "cardio_mempool_size")).toBe(0);
    expect(sampleValue(f, "cardio_mempool_dropped_total", { reason: "invalid" })).toBeUndefined();
  });

  it("counts a reorg when a longer branch takes over", async () => {
    const node = await fakeNode();
    const { chain, config, devnet } = node;
    const forgeOn = async (parent: ChainNode, slot: number): Promise<ChainNode> => {
      const winner = lotteryWinner(parent.state, parent.hash, slot, config.minStake)!;
      const key = devnet.keys.find((k) => equalBytes(k.publicKey, winner.publicKey))!;
      const built = buildBlock({ config, parent, slot, key, candidates: [] });
      await chain.importBlock(built.block, "gossip");
      return chain.get(built.hash)!;
    };
    const genesis = chain.head();
    const a1 = await forgeOn(genesis, 1);
    const b1 = await forgeOn(genesis, 2);
    const b2 = await forgeOn(b1, 3);
    expect(chain.head().hashHex).toBe(b2.hashHex);
    expect(toHex(a1.hash)).not.toBe(b1.hashHex);
    const f = parseExposition(await node.metrics.metrics());
    expect(sampleValue(f, "cardio_reorgs_total")).toBeGreaterThanOrEqual(1);
    expect(sampleValue(f, "cardio_blocks_imported_total", { source: "gossip" })).toBe(3);
    expect(sampleValue(f, "cardio_head_height")).toBe(2);
  });
});

describe("parseExposition", () => {
  it("refuses what a scraper would refuse", () => {
    expect(() => parseExposition("x 1\n")).toThrow(/no preceding HELP\/TYPE/);
    expect(() => parseExposition("# HELP x h\n# TYPE x gauge\nx one\n")).toThrow(/bad sample value/);
    expect(() => parseExposition('# HELP x h\n# TYPE x gauge\nx{a="1} 1\n')).toThrow(/unterminated/);
    expect(() => parseExposition("# HELP x h\n# TYPE x gauge\nx 1\nx 2\n")).toThrow(/duplicate/);
    expect(() => parseExposition("# HELP x h\n# TYPE x gauge\nx 1")).toThrow(/newline/);
    expect(() =>
      parseExposition(
        '# HELP h h\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      ),
    ).toThrow(/cumulative/);
    expect(
      parseExposition('# HELP x h\n# TYPE x gauge\nx{a="q\\"\\n"} -Inf\n').get("x")?.samples[0]?.labels.a,
    ).toBe('q"\n');
  });
});
