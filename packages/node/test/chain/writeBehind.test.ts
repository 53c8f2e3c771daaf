import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Block, createDevnet, encodeBlock, headerHash, toHex } from "@cardio/core";
import { afterEach, describe, expect, it } from "vitest";
import { type ChainNode, createChain } from "../../src/chain/chain.js";
import { type BlockJournal, createFileBlockJournal, StorageError } from "../../src/storage/index.js";
import { controlledStore } from "../helpers/controlledStore.js";
import { forgeWinner } from "../helpers/forgeWinner.js";
import { tempDirs } from "../helpers/tempDirs.js";

/** Gossip and local blocks: journaled, announced, then written behind; restored from the journal on start. */

const { genesis, keys } = createDevnet({
  seed: "write-behind",
  validators: 3,
  chainId: "write-behind",
  genesisTime: Date.now() - 1000 * 60_000,
  slotMs: 1000,
});

const forge = (parent: ChainNode, slot: number): Block => forgeWinner(genesis, keys, parent, slot);

const dirs = tempDirs("cardio-journal-");
const journals: BlockJournal[] = [];
afterEach(() => {
  for (const j of journals.splice(0)) j.close();
  dirs.removeAll();
});

function journalFile(): string {
  return join(dirs.make(), "blocks.journal");
}

function journalAt(path: string): BlockJournal {
  const j = createFileBlockJournal({ path });
  journals.push(j);
  return j;
}

async function chainWithJournal(n: number) {
  const ctl = controlledStore();
  await ctl.store.open();
  const path = journalFile();
  const journal = journalAt(path);
  const chain = createChain({ genesis, store: ctl.store, journal });
  await chain.start();
  for (let s = 1; s <= n; s++) await chain.importBlock(forge(chain.head(), s), "gossip");
  await chain.idle();
  const heads: number[] = [];
  chain.on("head", ({ head }) => heads.push(head.height));
  return { chain, ctl, path, journal, heads };
}

describe("Chain import from gossip and local: journaled, then written behind", () => {
  it("moves the head and announces the block while the store write is still pending", async () => {
    const { chain, ctl, journal, heads } = await chainWithJournal(2);
    ctl.hold();
    const next = forge(chain.head(), 3);
    const before = journal.size;
    const r = await chain.importBlock(next, "gossip");
    expect(r.status).toBe("imported");
    expect(chain.head().height).toBe(3);
    expect(heads).toEqual([3]);
    expect(journal.size).toBeGreaterThan(before);
    expect(journal.read().at(-1)).toEqual(encodeBlock(next));
    // Not in the store yet, but served from memory meanwhile.
    expect(await chain.store.hasBlock(r.hash)).toBe(false);
    expect(await chain.blockByHash(r.hash)).toBeDefined();
    let idle = false;
    const waiting = chain.idle().then(() => {
      idle = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(idle).toBe(false); // idle() waits for the write (the node closes the store after it)
    ctl.release();
    await waiting;
    expect(await chain.store.hasBlock(r.hash)).toBe(true);
    expect(await chain.store.getHead()).toMatchObject({ height: 3 });
  });

  it("restores on start the blocks whose writes a crash cut off, then clears the journal", async () => {
    const { chain, ctl, path } = await chainWithJournal(2);
    ctl.hold();
    const a = forge(chain.head(), 3);
    await chain.importBlock(a, "local");
    const b = forge(chain.head(), 4);
    await chain.importBlock(b, "gossip");
    expect(chain.head().height).toBe(4);
    // The crash: the held writes never reach the store underneath.
    expect((await ctl.inner.getHead())?.height).toBe(2);

    const journal = journalAt(path);
    const restarted = createChain({ genesis, store: ctl.inner, journal });
    await restarted.start();
    expect(restarted.head().height).toBe(4);
    expect(restarted.head().hashHex).toBe(toHex(headerHash(b.header)));
    expect(await ctl.inner.hasBlock(headerHash(a.header))).toBe(true);
    expect((await ctl.inner.getHead())?.height).toBe(4);
    expect(journal.read()).toEqual([]);
    expect(statSync(path).size).toBe(0);
  });

  it("refuses every block after a failed write, and a restart restores the block from the journal", async () => {
    const { chain, ctl, path } = await chainWithJournal(1);
    ctl.fail(true);
    const a = forge(chain.head(), 2);
    expect((await chain.importBlock(a, "gossip")).status).toBe("imported");
    await chain.idle();
    const b = forge(chain.head(), 3);
    const err = await chain.importBlock(b, "gossip").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe("IO");
    expect(chain.head().height).toBe(2);
    expect(chain.knows(headerHash(b.header))).toBe(false);

    ctl.fail(false);
    const restarted = createChain({ genesis, store: ctl.inner, journal: journalAt(path) });
    await restarted.start();
    expect(restarted.head().hashHex).toBe(toHex(headerHash(a.header)));
    expect((await restarted.importBlock(b, "gossip")).status).toBe("imported");
  });

  it("changes nothing when the journal cannot take the block", async () => {
    const { chain, journal, heads } = await chainWithJournal(1);
    const before = chain.head();
    journal.close();
    const next = forge(before, 2);
    const err = await chain.importBlock(next, "gossip").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(chain.head()).toBe(before);
    expect(chain.knows(headerHash(next.header))).toBe(false);
    expect(heads).toEqual([]);
    expect(await chain.store.hasBlock(headerHash(next.header))).toBe(false);
  });

  it("keeps the journal file private and small: cleared once the writes have landed", async () => {
    const { chain, path } = await chainWithJournal(1);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // 64 KiB of journal is cleared after the write that passes it lands; empty blocks are ~200 bytes.
    let cleared = false;
    let previous = statSync(path).size;
    for (let s = 2; s < 600 && !cleared; s++) {
      await chain.importBlock(forge(chain.head(), s), "gossip");
      await chain.idle();
      const size = readFileSync(path).length;
      if (size < previous) cleared = true;
      previous = size;
    }
    expect(cleared).toBe(true);
    expect(previous).toBeLessThan(64 * 1024);
  });

  it("leaves the journal empty after settle (a clean stop), but not while a write is held", async () => {
    const { chain, ctl, path, journal } = await chainWithJournal(2);
    expect(journal.size).toBeGreaterThan(0); // under 64 KiB: not cleared yet
    ctl.hold();
    await chain.importBlock(forge(chain.head(), 3), "gossip");
    let settled = false;
    const settling = chain.settle().then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    expect(journal.read()).toHaveLength(3);
    ctl.release();
    await settling;
    expect(statSync(path).size).toBe(0);
    expect(journal.read()).toEqual([]);
  });
});
