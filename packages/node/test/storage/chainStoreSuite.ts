import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ChainStore, createChainStore, type StoredBlock } from "../../src/storage/chainStore.js";
import type { KvBatchOptions, KvOperation, KvStore } from "../../src/storage/kvStore.js";
import { collect, hex, type KvFixture, type KvFixtureFactory } from "./fixtures.js";

/** A 32-byte hash whose bytes are all `tag` (tags stay below 256 in these tests). */
const h = (tag: number): Uint8Array => new Uint8Array(32).fill(tag);

/** A block with recognisable bytes; `tag` doubles as its hash. */
function block(tag: number, height: number, parentTag: number, slot = height * 2): StoredBlock {
  return { hash: h(tag), height, slot, parentHash: h(parentTag), bytes: Uint8Array.of(0xb0, tag, height) };
}

/** Counts batches and remembers their options, to check "one import = one batch" and fsync use. */
function recordingKv(
  inner: KvStore,
): KvStore & { batches: Array<{ ops: number; options?: KvBatchOptions }> } {
  const batches: Array<{ ops: number; options?: KvBatchOptions }> = [];
  return {
    batches,
    open: () => inner.open(),
    close: () => inner.close(),
    get: (key) => inner.get(key),
    iterate: (range) => inner.iterate(range),
    batch(ops: readonly KvOperation[], options?: KvBatchOptions) {
      batches.push({ ops: ops.length, ...(options ? { options } : {}) });
      return inner.batch(ops, options);
    },
  };
}

/** The ChainStore behaviour, run on top of every KvStore implementation. */
export function describeChainStore(name: string, factory: KvFixtureFactory): void {
  describe(`ChainStore on ${name}`, () => {
    let fixture: KvFixture;
    let kv: ReturnType<typeof recordingKv>;
    let chain: ChainStore;

    beforeEach(async () => {
      fixture = await factory();
      kv = recordingKv(fixture.store);
      chain = createChainStore(kv);
      await chain.open();
    });

    afterEach(async () => {
      await chain.close();
      await fixture.cleanup();
    });

    async function restart(): Promise<void> {
      await chain.close();
      kv = recordingKv(await fixture.reopen());
      chain = createChainStore(kv);
      await chain.open();
    }

    /** Imports blocks as a linear chain that each becomes head and extends the canonical index. */
    async function importLinear(blocks: StoredBlock[]): Promise<void> {
      for (const b of blocks) {
        await chain.putBlock(b, {
          head: { hash: b.hash, height: b.height },
          canonical: { set: [{ height: b.height, hash: b.hash }] },
        });
      }
    }

    const canonicalTags = async () =>
      (await collect(chain.iterateCanonical(0))).map(({ height, hash }) => [height, hash[0]]);

    // Chain A: genesis(1) ← 2 ← 3 ← 4 ← 5 at heights 0..4.
    const chainA = [block(1, 0, 0), block(2, 1, 1), block(3, 2, 2), block(4, 3, 3), block(5, 4, 4)];

    it("round-trips a block, its meta and its presence", async () => {
      const b = block(7, 12, 6, 40);
      expect(await chain.hasBlock(b.hash)).toBe(false);
      expect(await chain.getBlock(b.hash)).toBeUndefined();
      expect(await chain.getBlockMeta(b.hash)).toBeUndefined();
      await chain.putBlock(b);
      expect(await chain.hasBlock(b.hash)).toBe(true);
      expect(hex(await chain.getBlock(b.hash))).toBe(hex(b.bytes));
      const meta = await chain.getBlockMeta(b.hash);
      expect(meta && { ...meta, parentHash: hex(meta.parentHash) }).toEqual({
        height: 12,
        slot: 40,
        parentHash: hex(h(6)),
      });
      // Storing a block changes neither head nor canonical index unless asked to.
      expect(await chain.getHead()).toBeUndefined();
      expect(await chain.getCanonicalHash(12)).toBeUndefined();
    });

    it("writes block, index entries and head in exactly one batch per import", async () => {
      const before = kv.batches.length;
      await importLinear(chainA.slice(0, 3));
      expect(kv.batches.length - before).toBe(3);
      await chain.putBlock(block(9, 3, 3), {
        head: { hash: h(9), height: 3 },
        canonical: { set: [{ height: 3, hash: h(9) }], deleteFrom: 3 },
      });
      expect(kv.batches.length - before).toBe(4);
    });

    it("keeps the head and the canonical index", async () => {
      await importLinear(chainA);
      expect(await chain.getHead()).toEqual({ height: 4, hash: h(5) });
      expect(hex(await chain.getCanonicalHash(0))).toBe(hex(h(1)));
      expect(hex(await chain.getCanonicalHash(4))).toBe(hex(h(5)));
      expect(await chain.getCanonicalHash(5)).toBeUndefined();
    });

    it("iterates the canonical chain from a height, with a limit", async () => {
      await importLinear(chainA);
      const all = await collect(chain.iterateCanonical(0));
      expect(all.map((b) => [b.height, hex(b.hash), hex(b.bytes)])).toEqual(
        chainA.map((b) => [b.height, hex(b.hash), hex(b.bytes)]),
      );
      expect((await collect(chain.iterateCanonical(2, 2))).map((b) => b.height)).toEqual([2, 3]);
      expect((await collect(chain.iterateCanonical(3, 10))).map((b) => b.height)).toEqual([3, 4]);
      expect(await collect(chain.iterateCanonical(5))).toEqual([]);
      expect(await collect(chain.iterateCanonical(0, 0))).toEqual([]);
    });

    it("orders heights numerically, past one byte", async () => {
      const heights = [0, 1, 255, 256, 65_536, 2 ** 40];
      for (const [i, height] of heights.entries()) {
        await chain.putBlock(block(10 + i, height, 9 + i), {
          canonical: { set: [{ height, hash: h(10 + i) }] },
        });
      }
      expect((await collect(chain.iterateCanonical(0))).map((b) => b.height)).toEqual(heights);
      expect((await collect(chain.iterateCanonical(256))).map((b) => b.height)).toEqual(heights.slice(3));
      expect((await collect(chain.iterateAllBlocks())).map((b) => b.height)).toEqual(heights);
    });

    it("rewrites the canonical index on a reorg onto a longer fork", async () => {
      await importLinear(chainA);
      // Fork B branches off height 2 (block 3): 20@3, 21@4 stored as side blocks, 22@5 overtakes.
      await chain.putBlock(block(20, 3, 3));
      await chain.putBlock(block(21, 4, 20));
      expect(await chain.getHead()).toEqual({ height: 4, hash: h(5) });
      await chain.putBlock(block(22, 5, 21), {
        head: { hash: h(22), height: 5 },
        canonical: {
          set: [
            { height: 3, hash: h(20) },
            { height: 4, hash: h(21) },
            { height: 5, hash: h(22) },
          ],
        },
      });
      expect(await chain.getHead()).toEqual({ height: 5, hash: h(22) });
      expect(await canonicalTags()).toEqual([
        [0, 1],
        [1, 2],
        [2, 3],
        [3, 20],
        [4, 21],
        [5, 22],
      ]);
      // The abandoned branch stays stored: fork choice may come back to it.
      expect(await chain.hasBlock(h(4))).toBe(true);
      expect(await chain.hasBlock(h(5))).toBe(true);
    });

    it("deletes canonical entries from a height, and `set` wins over `deleteFrom`", async () => {
      await importLinear(chainA);
      await chain.putBlock(block(30, 2, 2), {
        head: { hash: h(30), height: 2 },
        canonical: { set: [{ height: 2, hash: h(30) }], deleteFrom: 2 },
      });
      expect(await canonicalTags()).toEqual([
        [0, 1],
        [1, 2],
        [2, 30],
      ]);
      expect(await chain.getCanonicalHash(3)).toBeUndefined();
      expect(await chain.getCanonicalHash(4)).toBeUndefined();
      expect(await chain.getHead()).toEqual({ height: 2, hash: h(30) });
    });

    it("lists every stored block, forks included, by height then hash", async () => {
      await importLinear(chainA.slice(0, 3));
      await chain.putBlock(block(40, 1, 1));
      await chain.putBlock(block(41, 2, 40));
      const all = await collect(chain.iterateAllBlocks());
      expect(all.map((b) => [b.height, b.hash[0], b.parentHash[0], b.slot, hex(b.bytes)])).toEqual([
        [0, 1, 0, 0, hex(block(1, 0, 0).bytes)],
        [1, 2, 1, 2, hex(block(2, 1, 1).bytes)],
        [1, 40, 1, 2, hex(block(40, 1, 1).bytes)],
        [2, 3, 2, 4, hex(block(3, 2, 2).bytes)],
        [2, 41, 40, 4, hex(block(41, 2, 40).bytes)],
      ]);
    });

    it("treats re-storing a known block as harmless", async () => {
      await importLinear(chainA.slice(0, 2));
      await chain.putBlock(block(2, 1, 1));
      expect((await collect(chain.iterateAllBlocks())).length).toBe(2);
      expect(await chain.getHead()).toEqual({ height: 1, hash: h(2) });
    });

    it("serialises concurrent imports", async () => {
      await Promise.all(
        chainA.map((b) =>
          chain.putBlock(b, {
            head: { hash: b.hash, height: b.height },
            canonical: { set: [{ height: b.height, hash: b.hash }] },
          }),
        ),
      );
      expect(await chain.getHead()).toEqual({ height: 4, hash: h(5) });
      expect((await canonicalTags()).length).toBe(5);
    });

    it("rejects malformed input before writing anything", async () => {
      const writes = kv.batches.length;
      await expect(chain.putBlock({ ...block(1, 0, 0), hash: new Uint8Array(31) })).rejects.toMatchObject({
        name: "StorageError",
        code: "INVALID_ARGUMENT",
      });
      await expect(
        chain.putBlock({ ...block(1, 0, 0), parentHash: new Uint8Array(33) }),
      ).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
      });
      await expect(chain.putBlock(block(1, -1, 0))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(chain.putBlock(block(1, 1.5, 0))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(
        chain.putBlock(block(1, 0, 0), { canonical: { set: [{ height: 0, hash: new Uint8Array(3) }] } }),
      ).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      // A head must be the imported block or a stored one: a dangling head would break the restart.
      await expect(
        chain.putBlock(block(1, 0, 0), { head: { hash: h(99), height: 7 } }),
      ).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
      });
      expect(kv.batches.length).toBe(writes);
      expect(await chain.hasBlock(h(1))).toBe(false);
      await expect(chain.getBlock(new Uint8Array(4))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(chain.getCanonicalHash(-1)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    });

    it("records the last signed slot with an fsync, and never moves it back", async () => {
      expect(await chain.getLastSignedSlot()).toBeUndefined();
      await chain.setLastSignedSlot(5);
      expect(kv.batches.at(-1)?.options?.sync).toBe(true);
      expect(await chain.getLastSignedSlot()).toBe(5);
      await chain.setLastSignedSlot(5);
      await chain.setLastSignedSlot(9);
      await expect(chain.setLastSignedSlot(8)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      expect(await chain.getLastSignedSlot()).toBe(9);
      await restart();
      expect(await chain.getLastSignedSlot()).toBe(9);
    });

    it("stores small metadata by name", async () => {
      expect(await chain.getMeta("x")).toBeUndefined();
      await chain.putMeta("x", Uint8Array.of(1, 2));
      await chain.putMeta("xy", Uint8Array.of(3));
      expect(hex(await chain.getMeta("x"))).toBe("0102");
      expect(hex(await chain.getMeta("xy"))).toBe("03");
      await expect(chain.getMeta("")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    });

    it("records the genesis once and refuses another one, also after a restart", async () => {
      await chain.assertGenesis(h(1));
      await chain.assertGenesis(h(1));
      await expect(chain.assertGenesis(h(2))).rejects.toMatchObject({
        name: "StorageError",
        code: "GENESIS_MISMATCH",
        meta: { stored: hex(h(1)), given: hex(h(2)) },
      });
      await restart();
      await chain.assertGenesis(h(1));
      const err = await chain.assertGenesis(h(2)).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "GENESIS_MISMATCH" });
      expect((err as Error).message).toContain(hex(h(1)));
    });

    it("finds blocks, head and canonical index again after a restart", async () => {
      await importLinear(chainA);
      await chain.putBlock(block(50, 2, 2));
      await restart();
      expect(await chain.getHead()).toEqual({ height: 4, hash: h(5) });
      expect(await canonicalTags()).toEqual(chainA.map((b) => [b.height, b.hash[0]]));
      expect((await collect(chain.iterateAllBlocks())).length).toBe(6);
      expect(hex(await chain.getBlock(h(50)))).toBe(hex(block(50, 2, 2).bytes));
    });

    it("lists every stored block past one read batch (256), in order, and can stop early", async () => {
      // Hashes from a counter: more blocks than `h(tag)` can name.
      const hh = (n: number): Uint8Array => {
        const out = new Uint8Array(32);
        new DataView(out.buffer).setUint32(0, n + 1);
        return out;
      };
      const n = 600;
      for (let height = 0; height < n; height++) {
        await chain.putBlock({
          hash: hh(height),
          height,
          slot: height,
          parentHash: hh(height - 1),
          bytes: Uint8Array.of(height & 0xff, height >> 8),
        });
      }
      await chain.putBlock({
        hash: hh(10_000),
        height: 300,
        slot: 301,
        parentHash: hh(299),
        bytes: Uint8Array.of(7),
      });
      // Through the recording wrapper (one `get` per block) and on the store itself (LevelDB: `getMany`).
      for (const store of [chain, createChainStore(fixture.store)]) {
        const all = await collect(store.iterateAllBlocks());
        expect(all).toHaveLength(n + 1);
        expect(all.map((b) => b.height)).toEqual([...all.map((b) => b.height)].sort((a, b) => a - b));
        for (const b of all) {
          const side = hex(b.hash) === hex(hh(10_000));
          expect([...b.bytes]).toEqual(side ? [7] : [b.height & 0xff, b.height >> 8]);
        }
        let seen = 0;
        for await (const b of store.iterateAllBlocks()) {
          if (++seen === 300) {
            expect(b.height).toBe(299);
            break;
          }
        }
      }
      // Nothing is left open: writes and a full listing still work.
      await chain.putBlock({
        hash: hh(n),
        height: n,
        slot: n,
        parentHash: hh(n - 1),
        bytes: Uint8Array.of(1),
      });
      expect(await collect(chain.iterateAllBlocks())).toHaveLength(n + 2);
    });

    it("refuses a store written with another layout version", async () => {
      await chain.close();
      const raw = await fixture.reopen();
      await raw.batch([{ type: "put", key: Uint8Array.of(0), value: Uint8Array.of(0, 0, 0, 99) }]);
      chain = createChainStore(raw);
      await expect(chain.open()).rejects.toMatchObject({ code: "UNSUPPORTED_FORMAT" });
    });
  });
}
