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
  // Keys are held as latin1 strings, one character (code 0–255) per byte: JavaScript compares strings
  // by code unit, so they order exactly like their bytes (a prefix first), at half the length of hex.
  const entries = new Map<string, { key: Uint8Array; value: Uint8Array }>();
  /*
   * The key order is kept lazily: writes only note keys added to or removed from `sortedKeys` since it
   * was last brought up to date, and the next `iterate` merges them in, O(n + k log k) for k changes.
   * Splicing every new key into the array at write time cost O(n) per insert: the largest item of an
   * empty-block sync after signature checks (4 new keys per block, and syncing never iterates).
   */
  let sortedKeys: string[] = [];
  /** Keys in `entries` that are not in `sortedKeys` yet. */
  const added = new Set<string>();
  /** Keys still in `sortedKeys` that were deleted from `entries`. */
  const removed = new Set<string>();
  let isOpen = false;

  function assertOpen(): void {
    if (!isOpen) throw new StorageError("NOT_OPEN", "memory store is not open");
  }

  /** Brings `sortedKeys` up to date with `entries`. */
  function sortKeys(): void {
    if (added.size === 0 && removed.size === 0) return;
    const fresh = [...added].sort();
    const out: string[] = new Array(sortedKeys.length - removed.size + fresh.length);
    let n = 0;
    let j = 0;
    for (const k of sortedKeys) {
      if (removed.has(k)) continue;
      while (j < fresh.length && fresh[j]! < k) out[n++] = fresh[j++]!;
      out[n++] = k;
    }
    while (j < fresh.length) out[n++] = fresh[j++]!;
    sortedKeys = out;
    added.clear();
    removed.clear();
  }

  /** Index of the first key ≥ `key` (or sortedKeys.length); `sortedKeys` must be up to date. */
  function lowerBound(key: string): number {
    let lo = 0;
    let hi = sortedKeys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sortedKeys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  function apply(op: KvOperation): void {
    const k = keyString(op.key);
    const exists = entries.has(k);
    if (op.type === "put") {
      if (!exists) {
        // A key deleted since the last sort is still in `sortedKeys`: it only needs its mark lifted.
        if (removed.has(k)) removed.delete(k);
        else added.add(k);
      }
      entries.set(k, { key: op.key.slice(), value: op.value.slice() });
    } else if (exists) {
      entries.delete(k);
      if (added.has(k)) added.delete(k);
      else removed.add(k);
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
      return entries.get(keyString(key))?.value.slice();
    },

    async batch(operations) {
      assertOpen();
      assertOperations(operations);
      for (const op of operations) apply(op);
    },

    async *iterate(range: KvRange = {}) {
      assertOpen();
      const limit = normalizeLimit(range.limit);
      sortKeys();
      const start = range.gte === undefined ? 0 : lowerBound(keyString(range.gte));
      const end = range.lt === undefined ? sortedKeys.length : lowerBound(keyString(range.lt));
      if (end <= start || limit === 0) return;
      const count = Math.min(limit, end - start);
      const keys = range.reverse
        ? sortedKeys.slice(end - count, end).reverse()
        : sortedKeys.slice(start, start + count);
      // Take the snapshot now: entries are replaced, never mutated, on later writes.
      const snapshot = keys.map((k) => entries.get(k)!);
      for (const entry of snapshot) {
        assertOpen();
        yield [entry.key.slice(), entry.value.slice()];
      }
    },
  };
}

/** The store's string form of a key: its bytes as latin1 characters. */
function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");
}
