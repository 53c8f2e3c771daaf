import {
  type Block,
  BlockError,
  BlockErrorCode,
  createDevnet,
  headerHash,
  type KeyPair,
  signTx,
  toHex,
  txId,
} from "@cardio/core";
import { describe, expect, it } from "vitest";
import { type ChainNode, createChain } from "../../src/chain/chain.js";
import { controlledStore } from "../helpers/controlledStore.js";
import { forgeWinner } from "../helpers/forgeWinner.js";

/**
 * Chain imports from sync write the block before the head moves; gossip and local blocks are journaled
 * and written behind; signatures checked elsewhere are not rechecked.
 */

const { genesis, keys } = createDevnet({
  seed: "import-persist",
  validators: 3,
  chainId: "import-persist",
  genesisTime: Date.now() - 1000 * 60_000,
  slotMs: 1000,
});

const forge = (parent: ChainNode, slot: number, candidates: Block["txs"] = []): Block =>
  forgeWinner(genesis, keys, parent, slot, candidates);

async function chainOf(n: number) {
  const ctl = controlledStore();
  await ctl.store.open();
  const chain = createChain({ genesis, store: ctl.store });
  await chain.start();
  for (let s = 1; s <= n; s++) await chain.importBlock(forge(chain.head(), s), "local");
  await chain.idle(); // local blocks are written behind
  const heads: number[] = [];
  chain.on("head", ({ head }) => heads.push(head.height));
  return { chain, ctl, heads };
}

describe("Chain import from sync: the head moves only after the block is written", () => {
  it("keeps the head, the tree and the events where they were while the write is pending", async () => {
    const { chain, ctl, heads } = await chainOf(3);
    const before = chain.head();
    ctl.hold();
    const next = forge(before, 4);
    const hash = headerHash(next.header);
    const importing = chain.importBlock(next, "sync");
    await new Promise((r) => setTimeout(r, 30));
    expect(chain.head()).toBe(before);
    expect(chain.get(hash)).toBeUndefined();
    expect(chain.knows(hash)).toBe(false);
    expect(heads).toEqual([]);
    ctl.release();
    const r = await importing;
    expect(r.status).toBe("imported");
    expect(chain.head().height).toBe(4);
    expect(heads).toEqual([4]);
    // What the store holds is what the head says.
    expect(await chain.store.getHead()).toMatchObject({ height: 4 });
    expect(toHex((await chain.store.getCanonicalHash(4))!)).toBe(toHex(hash));
  });

  it("leaves head and tree unchanged when the write fails, and imports the block once it can be written", async () => {
    const { chain, ctl, heads } = await chainOf(2);
    const before = chain.head();
    const next = forge(before, 3);
    const hash = headerHash(next.header);
    ctl.fail(true);
    await expect(chain.importBlock(next, "sync")).rejects.toThrow("disk full");
    expect(chain.head()).toBe(before);
    expect(chain.get(hash)).toBeUndefined();
    expect(chain.knows(hash)).toBe(false);
    expect(heads).toEqual([]);
    expect(await chain.store.hasBlock(hash)).toBe(false);
    ctl.fail(false);
    expect((await chain.importBlock(next, "sync")).status).toBe("imported");
    expect(chain.head().height).toBe(3);
    expect(heads).toEqual([3]);
  });

  it("writes a reorg's canonical chain and head in the same batch as the block that causes it", async () => {
    const { chain, ctl } = await chainOf(4);
    // A longer branch from height 2, in later slots.
    let parent = chain.get(chain.tree.canonicalAt(2)!.hash)!;
    for (let s = 10; s < 13; s++) {
      const b = forge(parent, s);
      if (s === 12) ctl.hold();
      const importing = chain.importBlock(b, "sync");
      if (s === 12) {
        await new Promise((r) => setTimeout(r, 20));
        // The block that wins is not written yet: the old branch is still the head, in memory and on disk.
        expect(chain.head().height).toBe(4);
        expect((await chain.store.getHead())?.height).toBe(4);
        ctl.release();
      }
      await importing;
      parent = chain.get(headerHash(b.header))!;
    }
    expect(chain.head().height).toBe(5);
    for (let h = 0; h <= 5; h++) {
      expect(toHex((await chain.store.getCanonicalHash(h))!)).toBe(chain.tree.canonicalAt(h)!.hashHex);
    }
    expect(await chain.store.getCanonicalHash(6)).toBeUndefined();
    expect(toHex((await chain.store.getHead())!.hash)).toBe(chain.head().hashHex);
  });

  it("stores the head chosen between two siblings at one height", async () => {
    // Two children of the same parent at one height: whichever has the lower hash is head, stored so.
    const { chain } = await chainOf(2);
    const parent = chain.head();
    const a = forge(parent, 3);
    const b = forge(parent, 4);
    await chain.importBlock(a, "gossip");
    await chain.importBlock(b, "gossip");
    const winner = toHex(headerHash(a.header)) < toHex(headerHash(b.header)) ? a : b;
    expect(chain.head().hashHex).toBe(toHex(headerHash(winner.header)));
    expect(toHex((await chain.store.getCanonicalHash(3))!)).toBe(chain.head().hashHex);
    expect(toHex((await chain.store.getHead())!.hash)).toBe(chain.head().hashHex);
  });
});

describe("Chain import: signatures verified by the caller", () => {
  const sender = keys[0]!;
  const transfer = (key: KeyPair, nonce: number) =>
    signTx(
      { kind: "transfer", from: key.publicKey, to: keys[1]!.publicKey, amount: 1n, nonce, fee: 1n },
      key,
      genesis.chainId,
    );

  it("indexes the block's transactions by the ids applyBlock computed", async () => {
    const { chain } = await chainOf(1);
    const tx = transfer(sender, 0);
    const block = forge(chain.head(), 2, [tx]);
    expect(block.txs).toHaveLength(1);
    await chain.importBlock(block, "sync", undefined, { signaturesVerified: true });
    expect(await chain.txInclusion(toHex(txId(tx)))).toEqual({
      height: 2,
      blockHash: toHex(headerHash(block.header)),
    });
  });

  it("refuses a block with a bad signature exactly as before when imported without the flag", async () => {
    const { chain } = await chainOf(1);
    const good = forge(chain.head(), 2);
    const sig = good.header.signature.slice();
    sig[0]! ^= 1;
    const bad: Block = { ...good, header: { ...good.header, signature: sig } };
    const err = await chain.importBlock(bad, "sync").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlockError);
    expect((err as BlockError).code).toBe(BlockErrorCode.BAD_SIGNATURE);
    expect((err as BlockError).verdict).toBe("reject");
  });
});
