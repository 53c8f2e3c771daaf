import { createDevnet, signTx, toHex, txId } from "@cardio/core";
import { afterEach, describe, expect, it } from "vitest";
import { createNode } from "../../src/node.js";
import type { CardioNode } from "../../src/nodeTypes.js";
import { createChainStore, createMemoryKvStore } from "../../src/storage/index.js";

describe("mempool journal", () => {
  const started: CardioNode[] = [];
  afterEach(async () => {
    for (const n of started.splice(0)) await n.stop();
  });

  it("a transaction acknowledged by submitTx survives a restart of the node", async () => {
    const { genesis, keys } = createDevnet({
      seed: "journal",
      validators: 2,
      genesisTime: Date.now(),
      slotMs: 1000,
    });
    const kv = createMemoryKvStore();
    const opts = {
      genesis,
      key: keys[0]!,
      store: createChainStore(kv),
      mdns: false,
      forge: false, // nothing gets included, so the tx must stay pending
      slotLog: false,
    };
    const first = createNode(opts);
    started.push(first);
    await first.start();
    const tx = signTx(
      { kind: "bpm", from: keys[0]!.publicKey, nonce: 0, fee: 0n, bpm: 70 },
      keys[0]!,
      genesis.chainId,
    );
    const id = await first.submitTx(tx);
    expect(id).toBe(toHex(txId(tx)));
    await first.stop();
    expect(first.isRunning()).toBe(false);

    const second = createNode({ ...opts, store: createChainStore(kv) });
    started.push(second);
    await second.start();
    expect(second.mempool.has(id)).toBe(true);
    expect(second.mempool.size).toBe(1);
  });

  it("drops kept transactions that are no longer valid at restart", async () => {
    const { genesis, keys } = createDevnet({
      seed: "journal2",
      validators: 1,
      genesisTime: Date.now(),
      slotMs: 200,
    });
    const kv = createMemoryKvStore();
    const opts = { genesis, key: keys[0]!, store: createChainStore(kv), mdns: false, slotLog: false };
    const node = createNode(opts);
    started.push(node);
    await node.start();
    const tx = signTx(
      { kind: "bpm", from: keys[0]!.publicKey, nonce: 0, fee: 0n, bpm: 70 },
      keys[0]!,
      genesis.chainId,
    );
    const id = await node.submitTx(tx);
    // A lone validator includes it at its next slot.
    const deadline = Date.now() + 10_000;
    while ((await node.chain.txInclusion(id)) === undefined) {
      if (Date.now() > deadline) throw new Error("tx not included");
      await new Promise((r) => setTimeout(r, 50));
    }
    await node.stop();
    const again = createNode({ ...opts, store: createChainStore(kv), forge: false });
    started.push(again);
    await again.start();
    expect(again.mempool.size).toBe(0);
    let kept = 0;
    for await (const _ of again.store.iteratePendingTxs()) kept++;
    expect(kept).toBe(0);
  });
});
