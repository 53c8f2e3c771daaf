import { randomBytes } from "node:crypto";
import { open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { equalBytes, type KeyPair, keyPairFromSeed } from "@cardio/core";
import { CliError } from "./cliError.js";

/*
 * A key file holds one Ed25519 private key in libp2p's protobuf encoding, base64 with padding and
 * a trailing newline: PrivateKey { Type = Ed25519 (field 1 = 1), Data (field 2) = seed ‖ public key }
 * is the 68 bytes 08 01 12 40 ‖ seed[32] ‖ publicKey[32]. It is what `privateKeyToProtobuf` of
 * @libp2p/crypto writes, so the same file is the node's libp2p identity and its validator key.
 */

const PROTOBUF_PREFIX = Uint8Array.from([0x08, 0x01, 0x12, 0x40]);
const KEY_FILE_BYTES = PROTOBUF_PREFIX.length + 64;
/** A real key file is ~93 bytes; anything far larger is not one, and is not read whole. */
const MAX_KEY_FILE_SIZE = 4096;
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;
/** libp2p KeyType numbers, to name the key type of a file that is not Ed25519. */
const KEY_TYPE_NAMES: Record<number, string> = { 0: "RSA", 2: "secp256k1", 3: "ECDSA" };

/** A fresh random key pair. Randomness lives here: core has none of its own. */
export function generateKeyPair(): KeyPair {
  return keyPairFromSeed(randomBytes(32));
}

/** The key file text of `key`: base64 of its libp2p protobuf encoding, and a newline. */
export function encodeKeyFile(key: KeyPair): string {
  const bytes = Buffer.concat([PROTOBUF_PREFIX, key.seed, key.publicKey]);
  return `${bytes.toString("base64")}\n`;
}

/**
 * The key pair in key file text. Throws `CliError` `KEY_FILE_INVALID` naming what is wrong (never
 * echoing the contents: they may be a secret in some other format).
 */
export function decodeKeyFile(text: string, path = "key file"): KeyPair {
  const bad = (why: string): CliError =>
    new CliError("KEY_FILE_INVALID", `${path} is not a cardio key file: ${why}`);
  const b64 = text.trim();
  if (b64 === "") throw bad("it is empty");
  if (!BASE64_RE.test(b64) || b64.length % 4 !== 0) throw bad("it is not base64");
  const bytes = new Uint8Array(Buffer.from(b64, "base64"));
  if (bytes[0] === 0x08 && bytes[1] !== undefined && bytes[1] !== 0x01) {
    const name = KEY_TYPE_NAMES[bytes[1]] ?? `type ${bytes[1]}`;
    throw bad(`it holds a ${name} key; cardio keys are Ed25519`);
  }
  if (
    bytes.length !== KEY_FILE_BYTES ||
    !equalBytes(bytes.subarray(0, PROTOBUF_PREFIX.length), PROTOBUF_PREFIX)
  ) {
    throw bad(`expected a ${KEY_FILE_BYTES}-byte libp2p Ed25519 private key, got ${bytes.length} bytes`);
  }
  const seed = bytes.subarray(PROTOBUF_PREFIX.length, PROTOBUF_PREFIX.length + 32);
  const key = keyPairFromSeed(seed);
  // The stored public key is redundant; a mismatch means the file was damaged or hand-edited.
  if (!equalBytes(key.publicKey, bytes.subarray(PROTOBUF_PREFIX.length + 32))) {
    throw bad("its public key does not match its private key (damaged file?)");
  }
  return key;
}

/**
 * Writes `key` to `path` with mode 0600. Refuses an existing file unless `force`; with `force` the
 * key is written to a new 0600 file beside it and renamed over it, so the old file's looser mode
 * is not inherited and a crash leaves either the old key or the new one, never half of one.
 */
export async function writeKeyFile(
  path: string,
  key: KeyPair,
  opts: { force?: boolean } = {},
): Promise<void> {
  const text = encodeKeyFile(key);
  if (opts.force !== true) {
    await writeNew(path, text);
    return;
  }
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  await writeNew(tmp, text);
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw fsError(err, path, "write");
  }
}

async function writeNew(path: string, text: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "wx", 0o600);
  } catch (err) {
    if (isErrno(err, "EEXIST")) {
      throw new CliError(
        "KEY_FILE_EXISTS",
        `${path} already exists; refusing to overwrite a key (use --force)`,
      );
    }
    throw fsError(err, path, "write");
  }
  try {
    // The umask can only remove bits, but an odd umask must not leave the key unreadable to us.
    await handle.chmod(0o600);
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Reads the key file at `path`. Like ssh, refuses a file that group or others may read or write
 * (`KEY_FILE_PERMISSIONS`); also refuses a missing file, a directory, and wrong contents.
 */
export async function readKeyFile(path: string): Promise<KeyPair> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (err) {
    if (isErrno(err, "ENOENT")) {
      throw new CliError(
        "KEY_FILE_MISSING",
        `key file ${path} does not exist (create one with \`cardio keys new --out ${path}\`, or pass --key)`,
      );
    }
    throw fsError(err, path, "read");
  }
  try {
    // fstat of the opened file, so the checked file is the one read.
    const st = await handle.stat();
    if (!st.isFile()) throw new CliError("KEY_FILE_INVALID", `key file ${path} is not a regular file`);
    if (process.platform !== "win32" && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, "0");
      throw new CliError(
        "KEY_FILE_PERMISSIONS",
        `key file ${path} is accessible by group or others (mode ${mode}); run \`chmod 600 ${path}\``,
      );
    }
    if (st.size > MAX_KEY_FILE_SIZE) {
      throw new CliError(
        "KEY_FILE_INVALID",
        `${path} is not a cardio key file: ${st.size} bytes is far too large`,
      );
    }
    return decodeKeyFile(await handle.readFile("utf8"), path);
  } finally {
    await handle.close();
  }
}

/** True when something (file, directory, link) exists at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isErrno(err, "ENOENT")) return false;
    throw err;
  }
}

/** True when `err` is a Node system error with this `code`. */
export function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

/** A one-line `CliError` for a failed file operation. */
export function fsError(err: unknown, path: string, verb: "read" | "write"): CliError {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  const why =
    code === "ENOENT"
      ? "its directory does not exist"
      : code === "EACCES" || code === "EPERM"
        ? "permission denied"
        : code === "EISDIR"
          ? "it is a directory"
          : code === "ENOTDIR"
            ? "a parent is not a directory"
            : err instanceof Error
              ? err.message
              : String(err);
  return new CliError("FILE_ERROR", `cannot ${verb} ${path}: ${why}`, { cause: err });
}
