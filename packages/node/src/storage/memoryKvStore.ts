import { toHex } from "./bytes.js";
import { assertOperations, type KvOperation, type KvRange, type KvStore, normalizeLimit } from "./kvStore.js";
import { StorageError } from "./storageError.js";

/**
 * An in-memory KvStore for tests and throwaway nodes, with the same observable behaviour as the LevelDB
 * store: bytewise key order, atomic batches, iteration over a snapshot, copies in and out.
 *
 * `close()` keeps the data (like a directory left on disk), so a test can reopen the same instance to
 * check what a restart would see.
 */
export function createMemoryKvStore(): KvStore {
  // Keys are held as hex: comparing fixed-width hex strings orders them exactly like their bytes.
  const entries = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  const sortedKeys: string[] = [];
  let isOpen = false;

  function assertOpen(): void {
    if (!isOpen) throw new StorageError("NOT_OPEN", "memory store is not open");
  }

  /** Index of the first key ≥ `hex` (or sortedKeys.length). */
  function lowerBound(hex: string): number {
    let lo = 0;
    let hi = sortedKeys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sortedKeys[mid]! < hex) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function apply(op: KvOperation): void {
    const hex = toHex(op.key);
    const at = lowerBound(hex);
    const exists = sortedKeys[at] === hex;
    if (op.type === "put") {
      if (!exists) sortedKeys.splice(at, 0, hex);
      entries.set(hex, { key: op.key.slice(), value: op.value.slice() });
    } else if (exists) {
      sortedKeys.splice(at, 1);
      entries.delete(hex);
    }
  }

  return {
    async open() {
      isOpen = true;
    },

    async close() {
      isOpen = false;
    },

    async get(key) {
      assertOpen();
      return entries.get(toHex(key))?.value.slice();
    },

    async batch(operations) {
      assertOpen();
      assertOperations(operations);
      for (const op of operations) apply(op);
    },

    async *iterate(range: KvRange = {}) {
      assertOpen();
      const limit = normalizeLimit(range.limit);
      const start = range.gte === undefined ? 0 : lowerBound(toHex(range.gte));
      const end = range.lt === undefined ? sortedKeys.length : lowerBound(toHex(range.lt));
      if (end <= start || limit === 0) return;
      const count = Math.min(limit, end - start);
      const hexKeys = range.reverse
        ? sortedKeys.slice(end - count, end).reverse()
        : sortedKeys.slice(start, start + count);
      // Take the snapshot now: entries are replaced, never mutated, on later writes.
      const snapshot = hexKeys.map((hex) => entries.get(hex)!);
      for (const entry of snapshot) {
        assertOpen();
        yield [entry.key.slice(), entry.value.slice()];
      }
    },
  };
}
