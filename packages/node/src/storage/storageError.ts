/**
 * Why a storage operation failed. Callers branch on the code (e.g. the CLI turns ALREADY_IN_USE and
 * GENESIS_MISMATCH into a one-line explanation and a non-zero exit), never on the message.
 */
export const StorageErrorCode = {
  /** Another process (or another open handle in this one) holds the data directory's lock. */
  ALREADY_IN_USE: "ALREADY_IN_USE",
  /** The stored bytes are damaged or violate the store's own invariants. */
  CORRUPT: "CORRUPT",
  /** The file system refused or failed an operation. */
  IO: "IO",
  /** The store was used before `open()` or after `close()`. */
  NOT_OPEN: "NOT_OPEN",
  /** The data directory holds a chain whose genesis differs from the one this node was started with. */
  GENESIS_MISMATCH: "GENESIS_MISMATCH",
  /** The data directory was written by an incompatible version of the storage layout. */
  UNSUPPORTED_FORMAT: "UNSUPPORTED_FORMAT",
  /** The caller passed a value the store cannot represent (wrong hash length, negative height, …). */
  INVALID_ARGUMENT: "INVALID_ARGUMENT",
} as const;

export type StorageErrorCode = (typeof StorageErrorCode)[keyof typeof StorageErrorCode];

/** The only error type the storage layer throws on purpose; the driver's own errors travel as `cause`. */
export class StorageError extends Error {
  override readonly name = "StorageError";
  readonly code: StorageErrorCode;
  /** Structured context for logs (paths, heights, hex hashes); never secrets. */
  readonly meta: Readonly<Record<string, unknown>>;

  constructor(
    code: StorageErrorCode,
    message: string,
    meta: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.meta = meta;
  }
}

/** Narrows `err` to a StorageError, optionally of one code, without relying on instanceof across realms. */
export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return (
    err instanceof Error &&
    err.name === "StorageError" &&
    typeof (err as StorageError).code === "string" &&
    (code === undefined || (err as StorageError).code === code)
  );
}
