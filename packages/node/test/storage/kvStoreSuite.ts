import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { KvStore } from "../../src/storage/kvStore.js";
import { StorageError } from "../../src/storage/storageError.js";
import { bytes, collect, hex, type KvFixture, type KvFixtureFactory } from "./fixtures.js";

/** The KvStore contract, run against every implementation so they cannot drift apart. */
export function describeKvStore(name: string, factory: KvFixtureFactory): void {
  describe(`KvStore contract: ${name}`, () => {
    let fixture: KvFixture;
    let store: KvStore;

    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    const put = (key: Uint8Array, value: Uint8Array) => store.batch([{ type: "put", key, value }]);
    const del = (key: Uint8Array) => store.batch([{ type: "del", key }]);
    const keysOf = async (range?: Parameters<KvStore["iterate"]>[0]) =>
      (await collect(store.iterate(range))).map(([key]) => hex(key));

    it("gets undefined for a missing key", async () => {
      expect(await store.get(bytes(1, 2, 3))).toBeUndefined();
    });

    it("puts, overwrites and deletes", async () => {
      await put(bytes(1), bytes(10));
      expect(hex(await store.get(bytes(1)))).toBe("0a");
      await put(bytes(1), bytes(11, 12));
      expect(hex(await store.get(bytes(1)))).toBe("0b0c");
      await del(bytes(1));
      expect(await store.get(bytes(1))).toBeUndefined();
      await del(bytes(1));
      expect(await store.get(bytes(1))).toBeUndefined();
    });

    it("stores empty values and the empty key", async () => {
      await put(bytes(5), bytes());
      await put(bytes(), bytes(9));
      expect(hex(await store.get(bytes(5)))).toBe("");
      expect(hex(await store.get(bytes()))).toBe("09");
      expect(await keysOf()).toEqual(["", "05"]);
    });

    it("returns plain Uint8Arrays the store does not share with the caller", async () => {
      const key = bytes(1);
      const value = bytes(7, 7);
      await put(key, value);
      value[0] = 0;
      key[0] = 2;
      const got = await store.get(bytes(1));
      expect(Object.getPrototypeOf(got)).toBe(Uint8Array.prototype);
      expect(hex(got)).toBe("0707");
      got![1] = 0;
      expect(hex(await store.get(bytes(1)))).toBe("0707");
      const [[k, v]] = (await collect(store.iterate())) as [[Uint8Array, Uint8Array]];
      expect(Object.getPrototypeOf(k)).toBe(Uint8Array.prototype);
      expect(Object.getPrototypeOf(v)).toBe(Uint8Array.prototype);
    });

    it("applies a batch in order: the last operation on a key wins", async () => {
      await store.batch([
        { type: "put", key: bytes(1), value: bytes(1) },
        { type: "del", key: bytes(1) },
        { type: "del", key: bytes(2) },
        { type: "put", key: bytes(2), value: bytes(2) },
        { type: "put", key: bytes(3), value: bytes(3) },
        { type: "put", key: bytes(3), value: bytes(4) },
      ]);
      expect(await store.get(bytes(1))).toBeUndefined();
      expect(hex(await store.get(bytes(2)))).toBe("02");
      expect(hex(await store.get(bytes(3)))).toBe("04");
    });

    it("writes nothing from a batch that contains an invalid operation", async () => {
      await put(bytes(9), bytes(9));
      const bad = [
        { type: "put", key: bytes(1), value: bytes(1) },
        { type: "del", key: bytes(9) },
        { type: "put", key: "not bytes", value: bytes(2) },
      ] as unknown as Parameters<KvStore["batch"]>[0];
      await expect(store.batch(bad)).rejects.toMatchObject({
        name: "StorageError",
        code: "INVALID_ARGUMENT",
      });
      expect(await store.get(bytes(1))).toBeUndefined();
      expect(hex(await store.get(bytes(9)))).toBe("09");
    });

    it("accepts an empty batch and a sync batch", async () => {
      await store.batch([]);
      await store.batch([{ type: "put", key: bytes(1), value: bytes(1) }], { sync: true });
      expect(hex(await store.get(bytes(1)))).toBe("01");
    });

    describe("iteration", () => {
      // Inserted out of order; bytewise order puts a prefix before its extensions and 0x80.. after 0x7f.
      const keys = [[2], [1, 0xff], [0x80], [1], [0x7f, 0xff], [1, 0], [0xff], [0]];
      const sorted = ["00", "01", "0100", "01ff", "02", "7fff", "80", "ff"];

      beforeEach(async () => {
        await store.batch(keys.map((k) => ({ type: "put", key: bytes(...k), value: bytes(k.length) })));
      });

      it("yields every entry in bytewise key order with its value", async () => {
        const entries = await collect(store.iterate());
        expect(entries.map(([k, v]) => [hex(k), hex(v)])).toEqual(
          sorted.map((k) => [k, (k.length / 2).toString(16).padStart(2, "0")]),
        );
      });

      it("honours gte (inclusive) and lt (exclusive)", async () => {
        expect(await keysOf({ gte: bytes(1), lt: bytes(2) })).toEqual(["01", "0100", "01ff"]);
        expect(await keysOf({ gte: bytes(1, 0) })).toEqual(sorted.slice(2));
        expect(await keysOf({ lt: bytes(1, 0) })).toEqual(["00", "01"]);
        expect(await keysOf({ gte: bytes(0x7f), lt: bytes(0x80, 0) })).toEqual(["7fff", "80"]);
      });

      it("yields nothing for an empty or inverted range", async () => {
        expect(await keysOf({ gte: bytes(3), lt: bytes(3) })).toEqual([]);
        expect(await keysOf({ gte: bytes(9), lt: bytes(1) })).toEqual([]);
        expect(await keysOf({ gte: bytes(0xff, 0) })).toEqual([]);
      });

      it("walks backwards with reverse, within bounds", async () => {
        expect(await keysOf({ reverse: true })).toEqual([...sorted].reverse());
        expect(await keysOf({ gte: bytes(1), lt: bytes(2), reverse: true })).toEqual(["01ff", "0100", "01"]);
      });

      it("stops after limit entries, from the right end when reversed", async () => {
        expect(await keysOf({ limit: 3 })).toEqual(sorted.slice(0, 3));
        expect(await keysOf({ limit: 2, reverse: true })).toEqual(["ff", "80"]);
        expect(await keysOf({ gte: bytes(1), limit: 2, reverse: true })).toEqual(["ff", "80"]);
        expect(await keysOf({ lt: bytes(2), limit: 2, reverse: true })).toEqual(["01ff", "0100"]);
        expect(await keysOf({ limit: 0 })).toEqual([]);
        expect(await keysOf({ limit: 100 })).toEqual(sorted);
        expect(await keysOf({ limit: Number.POSITIVE_INFINITY })).toEqual(sorted);
      });

      it("rejects a negative or fractional limit", async () => {
        await expect(keysOf({ limit: -1 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
        await expect(keysOf({ limit: 1.5 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      });

      it("iterates over a snapshot: writes made meanwhile are not seen", async () => {
        const seen: string[] = [];
        for await (const [key] of store.iterate()) {
          if (seen.length === 0) {
            await store.batch([
              { type: "put", key: bytes(0x50), value: bytes(1) },
              { type: "del", key: bytes(0xff) },
            ]);
          }
          seen.push(hex(key)!);
        }
        expect(seen).toEqual(sorted);
        expect(await keysOf()).toEqual(["00", "01", "0100", "01ff", "02", "50", "7fff", "80"]);
      });

      it("keeps the order through deletes, re-puts and puts between iterations", async () => {
        // Deleted then put again before the next iteration, and the reverse; a new key beside them.
        await store.batch([
          { type: "del", key: bytes(1, 0) },
          { type: "put", key: bytes(1, 0), value: bytes(9) },
          { type: "put", key: bytes(1, 1), value: bytes(9) },
          { type: "del", key: bytes(1, 1) },
          { type: "del", key: bytes(0x80) },
          { type: "put", key: bytes(0x7f), value: bytes(9) },
        ]);
        expect(await keysOf()).toEqual(["00", "01", "0100", "01ff", "02", "7f", "7fff", "ff"]);
        await del(bytes(0x7f));
        await put(bytes(0x80), bytes(9));
        await del(bytes(0));
        expect(await keysOf()).toEqual(["01", "0100", "01ff", "02", "7fff", "80", "ff"]);
        expect(await keysOf({ gte: bytes(0x7f), reverse: true })).toEqual(["ff", "80", "7fff"]);
        expect(hex((await store.get(bytes(1, 0)))!)).toBe("09");
        expect(await store.get(bytes(1, 1))).toBeUndefined();
      });

      it("can be abandoned early and the store stays usable", async () => {
        for await (const [key] of store.iterate()) {
          expect(hex(key)).toBe("00");
          break;
        }
        await put(bytes(3), bytes(3));
        expect(await keysOf({ gte: bytes(3), lt: bytes(4) })).toEqual(["03"]);
      });
    });

    it("keeps its data across close and reopen", async () => {
      await store.batch([
        { type: "put", key: bytes(1), value: bytes(1) },
        { type: "put", key: bytes(2), value: bytes(2) },
      ]);
      await del(bytes(1));
      store = await fixture.reopen();
      expect(await store.get(bytes(1))).toBeUndefined();
      expect(hex(await store.get(bytes(2)))).toBe("02");
      expect(await keysOf()).toEqual(["02"]);
    });

    it("fails with NOT_OPEN when closed, and open/close are idempotent", async () => {
      await store.open();
      await store.close();
      await store.close();
      await expect(store.get(bytes(1))).rejects.toBeInstanceOf(StorageError);
      await expect(store.get(bytes(1))).rejects.toMatchObject({ code: "NOT_OPEN" });
      await expect(put(bytes(1), bytes(1))).rejects.toMatchObject({ code: "NOT_OPEN" });
      await expect(keysOf()).rejects.toMatchObject({ code: "NOT_OPEN" });
      await store.open();
      await put(bytes(1), bytes(1));
      expect(hex(await store.get(bytes(1)))).toBe("01");
    });
  });
}
