import { type Block, createDevnet, encodeBlock, headerHash, type KeyPair } from "@cardio/core";
import { describe, expect, it } from "vitest";
import { type ChainNode, createChain } from "../../src/chain/chain.js";
import { controlledStore } from "../helpers/controlledStore.js";
import { forgeWinner } from "../helpers/forgeWinner.js";

/** What `blocks_by_range` and `blocks_by_hash` serve: stored bytes, one chain, never a mix of two. */

const { genesis, keys } = createDevnet({
  seed: "serving-range",
  validators: 3,
  chainId: "serving-range",
  genesisTime: Date.now() - 1000 * 60_000,
  slotMs: 1000,
});

const forge = (parent: ChainNode, slot: number, keyset: readonly KeyPair[] = keys): Block =>
  forgeWinner(genesis, keyset, parent, slot);

async function chainOf(n: number) {
  const held = controlledStore();
  await held.store.open();
  const chain = createChain({ genesis, store: held.store });
  await chain.start();
  const blocks: Block[] = [];
  for (let s = 1; s <= n; s++) {
    const b = forge(chain.head(), s);
    await chain.importBlock(b, "local");
    blocks.push(b);
  }
  return { chain, blocks, held };
}

describe("Chain.canonicalRangeBytes", () => {
  it("returns the canonical blocks' encodings, bounded by count and bytes", async () => {
    const { chain, blocks } = await chainOf(10);
    const enc = blocks.map(encodeBlock);
    expect(await chain.canonicalRangeBytes(1, 10)).toEqual(enc);
    expect(await chain.canonicalRangeBytes(4, 3)).toEqual(enc.slice(3, 6));
    expect(await chain.canonicalRangeBytes(8, 100)).toEqual(enc.slice(7));
    expect(await chain.canonicalRangeBytes(11, 5)).toEqual([]);
    expect(await chain.canonicalRangeBytes(1, 0)).toEqual([]);
    // The first block always goes; the rest only within the byte budget.
    const one = enc[0]!.length;
    expect(await chain.canonicalRangeBytes(1, 10, 1)).toHaveLength(1);
    expect(await chain.canonicalRangeBytes(1, 10, 3 * one)).toHaveLength(3);
  });

  it("follows a reorg: the other branch, whole, never a mix", async () => {
    const { chain, blocks } = await chainOf(4);
    // A longer branch from height 2: slots 10.. so it never collides with the first branch.
    let parent = chain.get(chain.tree.canonicalAt(2)!.hash)!;
    const branch: Block[] = [];
    for (let s = 10; s < 13; s++) {
      const b = forge(parent, s);
      await chain.importBlock(b, "gossip");
      branch.push(b);
      parent = chain.get(headerHash(b.header))!;
    }
    expect(chain.head().height).toBe(5);
    const served = await chain.canonicalRangeBytes(1, 10);
    expect(served).toEqual([...blocks.slice(0, 2), ...branch].map(encodeBlock));
  });

  it("serves a synced block only once its write is done: the head moves after the store has it", async () => {
    const { chain, blocks, held } = await chainOf(3);
    held.hold();
    const next = forge(chain.head(), 4);
    const importing = chain.importBlock(next, "sync");
    // Validated, but not written yet: neither the head nor what is served may show it.
    await new Promise((r) => setTimeout(r, 20));
    expect(chain.head().height).toBe(3);
    expect(await chain.canonicalRangeBytes(1, 10)).toEqual(blocks.map(encodeBlock));
    expect(await chain.blockBytesByHash(headerHash(next.header))).toBeUndefined();
    held.release();
    await importing;
    expect(chain.head().height).toBe(4);
    expect(await chain.canonicalRangeBytes(1, 10)).toEqual([...blocks, next].map(encodeBlock));
    expect(await chain.canonicalRangeBytes(4, 1)).toEqual([encodeBlock(next)]);
  });

  it("serves a gossip block from memory while its write is behind: what is served follows the head", async () => {
    const { chain, blocks, held } = await chainOf(3);
    held.hold();
    const next = forge(chain.head(), 4);
    await chain.importBlock(next, "gossip");
    expect(chain.head().height).toBe(4);
    expect(await chain.store.hasBlock(headerHash(next.header))).toBe(false);
    expect(await chain.canonicalRangeBytes(1, 10)).toEqual([...blocks, next].map(encodeBlock));
    expect(await chain.blockBytesByHash(headerHash(next.header))).toEqual(encodeBlock(next));
    held.release();
    await chain.idle();
    expect(await chain.store.hasBlock(headerHash(next.header))).toBe(true);
    expect(await chain.canonicalRangeBytes(4, 1)).toEqual([encodeBlock(next)]);
  });
});
