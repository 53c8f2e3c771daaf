import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { crc32 } from "node:zlib";
import { StorageError } from "./storageError.js";

/**
 * An append-only record of imported blocks whose store write may still be in flight. The chain appends
 * a block here synchronously (one `write(2)`, no thread hop, no await), then moves its head and
 * announces the block while the store's atomic batch is written behind; `clear` once every write has
 * landed. On start, blocks still in the journal are imported again: so a block that anyone saw imported
 * survives a crash of the process, the same guarantee as the store's own unsynced writes.
 */
export interface BlockJournal {
  /**
   * Opens (creating) the journal; idempotent. Called by the chain's `start`, once the store is open (and
   * holds the data directory's lock). Cuts off a damaged tail, so later appends stay readable.
   */
  open(): void;
  /** Appends one block's encoding. Throws `StorageError` (IO) if the file system refuses it. */
  append(bytes: Uint8Array): void;
  /**
   * Every block appended since the last `clear`, oldest first. A damaged tail (a crash in the middle of
   * an append) ends the list: the block it held was never announced.
   */
  read(): Uint8Array[];
  /** Forgets every block appended so far (their store writes have landed). */
  clear(): void;
  /** Bytes of whole records in the journal. */
  readonly size: number;
  /** Closes the file; idempotent. `open` may be called again. */
  close(): void;
}

/** Options of {@link createFileBlockJournal}. */
export interface FileBlockJournalOptions {
  /** The journal file; created if missing. Required. */
  path: string;
}

const RECORD_HEADER_BYTES = 8;

/**
 * A journal in one file (mode 0600) of records `u32be length ‖ u32be crc32(bytes) ‖ bytes`. Writes go to the page cache without fsync, so they survive a crash of the process but not of the
 * machine (as the store's writes do).
 */
export function createFileBlockJournal(options: FileBlockJournalOptions): BlockJournal {
  const { path } = options;
  const io = (op: string, err: unknown) =>
    new StorageError("IO", `block journal ${op} failed: ${(err as Error).message}`, { path }, { cause: err });
  let fd: number | undefined;
  let size = 0;
  const open = (): number => {
    if (fd === undefined) throw new StorageError("NOT_OPEN", "block journal is not open", { path });
    return fd;
  };
  return {
    open() {
      if (fd !== undefined) return;
      let f: number;
      try {
        f = openSync(path, "a+", 0o600);
      } catch (err) {
        throw io("open", err);
      }
      try {
        const file = readFileSync(path);
        size = readRecords(file).bytes;
        // A damaged tail would hide every record appended after it.
        if (size < file.length) ftruncateSync(f, size);
      } catch (err) {
        closeSync(f);
        throw io("open", err);
      }
      fd = f;
    },
    append(bytes) {
      const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + bytes.length);
      record.writeUInt32BE(bytes.length, 0);
      record.writeUInt32BE(crc32(bytes), 4);
      record.set(bytes, RECORD_HEADER_BYTES);
      try {
        writeSync(open(), record);
      } catch (err) {
        throw err instanceof StorageError ? err : io("append", err);
      }
      size += record.length;
    },
    read() {
      open();
      try {
        return readRecords(readFileSync(path)).records;
      } catch (err) {
        throw io("read", err);
      }
    },
    clear() {
      try {
        ftruncateSync(open(), 0);
      } catch (err) {
        throw err instanceof StorageError ? err : io("clear", err);
      }
      size = 0;
    },
    get size() {
      return size;
    },
    close() {
      if (fd === undefined) return;
      const f = fd;
      fd = undefined;
      closeSync(f);
    },
  };
}

/** The whole records of a journal file, up to the first damaged one. */
function readRecords(file: Buffer): { records: Uint8Array[]; bytes: number } {
  const records: Uint8Array[] = [];
  let o = 0;
  while (o + RECORD_HEADER_BYTES <= file.length) {
    const length = file.readUInt32BE(o);
    const end = o + RECORD_HEADER_BYTES + length;
    if (end > file.length) break;
    const bytes = file.subarray(o + RECORD_HEADER_BYTES, end);
    if (crc32(bytes) !== file.readUInt32BE(o + 4)) break;
    records.push(new Uint8Array(bytes));
    o = end;
  }
  return { records, bytes: o };
}
