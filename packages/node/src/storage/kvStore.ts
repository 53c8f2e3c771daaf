import { StorageError } from "./storageError.js";

/** One write of an atomic batch. Within a batch, later operations on the same key win. */
export type KvOperation =
  | { type: "put"; key: Uint8Array; value: Uint8Array }
  | { type: "del"; key: Uint8Array };

export interface KvBatchOptions {
  /**
   * Wait until the write reached stable storage (fsync) before resolving. Without it a write survives a
   * crash of the process but not of the machine. Default: false.
   */
  sync?: boolean;
}

/** A key range in bytewise order. Omitted bounds are open. */
export interface KvRange {
  /** Smallest key included. Default: the first key. */
  gte?: Uint8Array;
  /** First key excluded. Default: past the last key. */
  lt?: Uint8Array;
  /** Walk from the largest key down. Default: false. */
  reverse?: boolean;
  /** Maximum number of entries yielded (a non-negative integer or Infinity). Default: Infinity. */
  limit?: number;
}

/**
 * A byte-level, ordered key/value store: the whole contract the chain store needs from a database, so
 * LevelDB in production and a Map in tests are interchangeable.
 *
 * Every operation other than `open`/`close` throws `StorageError` with code NOT_OPEN when the store is
 * not open. `open` and `close` are idempotent. Returned bytes belong to the caller.
 */
export interface KvStore {
  open(): Promise<void>;
  close(): Promise<void>;
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Applies every operation or none of them. */
  batch(operations: readonly KvOperation[], options?: KvBatchOptions): Promise<void>;
  /**
   * Entries of `range` in bytewise key order (reversed if asked). The entries reflect the store as it was
   * when iteration started: writes made while iterating are not seen.
   */
  iterate(range?: KvRange): AsyncIterable<[key: Uint8Array, value: Uint8Array]>;
}

/** Turns the public `limit` into a count both implementations agree on, rejecting nonsense early. */
export function normalizeLimit(limit: number | undefined): number {
  if (limit === undefined || limit === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new StorageError(
      "INVALID_ARGUMENT",
      `iteration limit must be a non-negative integer, got ${limit}`,
      {
        limit,
      },
    );
  }
  return limit;
}

/**
 * Rejects malformed operations before anything is written, so an implementation that applies operations
 * one by one (the memory store) can stay atomic.
 */
export function assertOperations(operations: readonly KvOperation[]): void {
  for (const [index, op] of operations.entries()) {
    const valid =
      op.key instanceof Uint8Array &&
      (op.type === "del" || (op.type === "put" && op.value instanceof Uint8Array));
    if (!valid) {
      throw new StorageError("INVALID_ARGUMENT", `batch operation ${index} is not a put or del of bytes`, {
        index,
        type: (op as { type?: unknown }).type,
      });
    }
  }
}
