import { mkdir } from "node:fs/promises";
import { ClassicLevel } from "classic-level";
import { asUint8Array } from "./bytes.js";
import type { KvBulkReads } from "./chainStore.js";
import { assertOperations, type KvRange, type KvStore, normalizeLimit } from "./kvStore.js";
import { isStorageError, StorageError } from "./storageError.js";

export interface LevelKvStoreOptions {
  /** Directory holding the LevelDB files. Created, with its parents, if missing. Required. */
  dir: string;
  /** Size of LevelDB's in-memory block cache, in bytes. Default: 8 MiB (LevelDB's own default). */
  cacheSize?: number;
}

export interface LevelKvStore extends KvStore, KvBulkReads {
  /** The data directory, as given. */
  readonly dir: string;
}

/**
 * A KvStore on LevelDB (classic-level) in one directory. LevelDB locks the directory while open, so a
 * second node started on the same `--data-dir`, in this process or another, fails to open with
 * `StorageError` ALREADY_IN_USE instead of corrupting the first one's data.
 */
export function createLevelKvStore(options: LevelKvStoreOptions): LevelKvStore {
  const { dir, cacheSize = 8 * 1024 * 1024 } = options;
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
    keyEncoding: "view",
    valueEncoding: "view",
    cacheSize,
  });

  function fail(err: unknown, action: string): StorageError {
    return toStorageError(err, dir, action);
  }

  return {
    dir,

    async open() {
      try {
        await mkdir(dir, { recursive: true });
      } catch (err) {
        throw fail(err, "create");
      }
      try {
        await db.open({ createIfMissing: true });
      } catch (err) {
        throw fail(err, "open");
      }
    },

    async close() {
      try {
        await db.close();
      } catch (err) {
        throw fail(err, "close");
      }
    },

    async get(key) {
      try {
        const value = await db.get(key);
        return value === undefined ? undefined : asUint8Array(value);
      } catch (err) {
        throw fail(err, "read");
      }
    },

    async getMany(keys) {
      try {
        const values = await db.getMany(keys.slice());
        return values.map((v) => (v === undefined ? undefined : asUint8Array(v)));
      } catch (err) {
        throw fail(err, "read");
      }
    },

    async batch(operations, batchOptions = {}) {
      assertOperations(operations);
      try {
        await db.batch(operations.slice(), { sync: batchOptions.sync ?? false });
      } catch (err) {
        throw fail(err, "write");
      }
    },

    async *iterate(range: KvRange = {}) {
      const limit = normalizeLimit(range.limit);
      // Only defined bounds are passed: abstract-level treats a present-but-undefined bound as a key.
      const bounds: { gte?: Uint8Array; lt?: Uint8Array } = {};
      if (range.gte !== undefined) bounds.gte = range.gte;
      if (range.lt !== undefined) bounds.lt = range.lt;
      let iterator: ReturnType<typeof db.iterator<Uint8Array, Uint8Array>>;
      try {
        iterator = db.iterator({ ...bounds, reverse: range.reverse ?? false, limit });
      } catch (err) {
        throw fail(err, "iterate");
      }
      try {
        while (true) {
          let entry: [Uint8Array, Uint8Array] | undefined;
          try {
            entry = await iterator.next();
          } catch (err) {
            throw fail(err, "iterate");
          }
          if (entry === undefined) return;
          yield [asUint8Array(entry[0]), asUint8Array(entry[1])];
        }
      } finally {
        // Releases LevelDB's snapshot even when the consumer stops early (break / return).
        await iterator.close().catch(() => {});
      }
    },
  };
}

/** Maps classic-level's error codes (and the fs errors of mkdir) to the storage layer's own. */
function toStorageError(err: unknown, dir: string, action: string): StorageError {
  if (isStorageError(err)) return err;
  const code = errorCode(err);
  const cause = (err as { cause?: unknown } | null | undefined)?.cause;
  const causeCode = errorCode(cause);
  const detail = errorMessage(cause) ?? errorMessage(err) ?? String(err);
  const meta = { dir, action, driverCode: causeCode ?? code };
  if (code === "LEVEL_LOCKED" || causeCode === "LEVEL_LOCKED") {
    return new StorageError(
      "ALREADY_IN_USE",
      `data dir ${dir} is already in use by another cardio process`,
      meta,
      {
        cause: err,
      },
    );
  }
  if (code === "LEVEL_CORRUPTION" || causeCode === "LEVEL_CORRUPTION") {
    return new StorageError("CORRUPT", `data dir ${dir} is corrupt: ${detail}`, meta, { cause: err });
  }
  // Outside of open(), "not open" means the caller used a closed store; during open() it wraps the real cause.
  if (
    action !== "open" &&
    (code === "LEVEL_DATABASE_NOT_OPEN" ||
      code === "LEVEL_ITERATOR_NOT_OPEN" ||
      code === "LEVEL_BATCH_NOT_OPEN")
  ) {
    return new StorageError("NOT_OPEN", `data dir ${dir} is not open`, meta, { cause: err });
  }
  return new StorageError("IO", `cannot ${action} data dir ${dir}: ${detail}`, meta, { cause: err });
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

function errorMessage(err: unknown): string | undefined {
  const message = (err as { message?: unknown } | null | undefined)?.message;
  return typeof message === "string" ? message : undefined;
}
