import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addressFromPublicKey, devnetKeyPair, signBytes, verifyBytes } from "@cardio/core";
import {
  generateKeyPair as libp2pGenerateKeyPair,
  privateKeyFromProtobuf,
  privateKeyToProtobuf,
} from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CliError } from "../../src/cli/cliError.js";
import {
  decodeKeyFile,
  encodeKeyFile,
  generateKeyPair,
  readKeyFile,
  writeKeyFile,
} from "../../src/cli/keyFile.js";

describe("key file format", () => {
  it("is libp2p's protobuf encoding: privateKeyFromProtobuf reads it, and the PeerId is the address", () => {
    const key = generateKeyPair();
    const bytes = Buffer.from(encodeKeyFile(key).trim(), "base64");
    expect([...bytes.subarray(0, 4)]).toEqual([0x08, 0x01, 0x12, 0x40]);
    const libp2pKey = privateKeyFromProtobuf(bytes);
    expect(libp2pKey.type).toBe("Ed25519");
    expect(Buffer.from(libp2pKey.publicKey.raw)).toEqual(Buffer.from(key.publicKey));
    expect(peerIdFromPrivateKey(libp2pKey).toString()).toBe(addressFromPublicKey(key.publicKey));
  });

  it("reads what libp2p writes, and signs with the same key", async () => {
    const libp2pKey = await libp2pGenerateKeyPair("Ed25519");
    const text = `${Buffer.from(privateKeyToProtobuf(libp2pKey)).toString("base64")}\n`;
    const key = decodeKeyFile(text);
    expect(addressFromPublicKey(key.publicKey)).toBe(peerIdFromPrivateKey(libp2pKey).toString());
    const msg = new TextEncoder().encode("cardio");
    expect(verifyBytes(key.publicKey, msg, await libp2pKey.sign(msg))).toBe(true);
    expect(libp2pKey.publicKey.verify(msg, signBytes(key, msg))).toBe(true);
  });

  it("round-trips a deterministic key byte for byte", () => {
    const key = devnetKeyPair("seed", 3);
    const text = encodeKeyFile(key);
    expect(text.endsWith("\n")).toBe(true);
    expect(Buffer.from(decodeKeyFile(text).seed)).toEqual(Buffer.from(key.seed));
    expect(encodeKeyFile(decodeKeyFile(text))).toBe(text);
  });

  it.each([
    ["empty", "", /empty/],
    ["not base64", "not a key!!", /not base64/],
    ["too short", Buffer.from([8, 1, 18, 64, 1, 2, 3]).toString("base64"), /68-byte/],
    ["secp256k1", Buffer.from([8, 2, 18, 32, ...new Uint8Array(32)]).toString("base64"), /secp256k1/],
  ])("refuses %s contents with a one-line reason", (_name, text, reason) => {
    expect(() => decodeKeyFile(text, "k.key")).toThrow(reason);
    try {
      decodeKeyFile(text, "k.key");
    } catch (err) {
      expect(err).toBeInstanceOf(CliError);
      expect((err as CliError).message).not.toContain("\n");
    }
  });

  it("refuses a file whose public key does not match its seed", () => {
    const bytes = Buffer.from(encodeKeyFile(generateKeyPair()).trim(), "base64");
    bytes[bytes.length - 1]! ^= 1;
    expect(() => decodeKeyFile(bytes.toString("base64"))).toThrow(/does not match/);
  });

  it("never puts key material in its messages", () => {
    const key = generateKeyPair();
    const text = encodeKeyFile(key);
    const damaged = `${text.trim().slice(0, -4)}AAAA`;
    try {
      decodeKeyFile(damaged, "k.key");
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain(text.trim().slice(8, 40));
    }
  });
});

describe("key files on disk", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "cardio-keyfile-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes mode 0600 and reads the same key back", async () => {
    const file = join(dir, "a.key");
    const key = generateKeyPair();
    await writeKeyFile(file, key);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(Buffer.from((await readKeyFile(file)).publicKey)).toEqual(Buffer.from(key.publicKey));
  });

  it("refuses to overwrite, and with force replaces atomically with mode 0600 even over a 0644 file", async () => {
    const file = join(dir, "a.key");
    await writeFile(file, "old", { mode: 0o644 });
    await chmod(file, 0o644);
    await expect(writeKeyFile(file, generateKeyPair())).rejects.toThrow(/already exists/);
    expect(await readFile(file, "utf8")).toBe("old");
    const key = generateKeyPair();
    await writeKeyFile(file, key, { force: true });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(addressFromPublicKey((await readKeyFile(file)).publicKey)).toBe(
      addressFromPublicKey(key.publicKey),
    );
  });

  it.each([0o644, 0o640, 0o604, 0o660])("refuses a key file with mode %s like ssh does", async (mode) => {
    const file = join(dir, "a.key");
    await writeKeyFile(file, generateKeyPair());
    await chmod(file, mode);
    await expect(readKeyFile(file)).rejects.toMatchObject({ code: "KEY_FILE_PERMISSIONS" });
  });

  it("explains a missing file and a directory", async () => {
    await expect(readKeyFile(join(dir, "none.key"))).rejects.toMatchObject({ code: "KEY_FILE_MISSING" });
    await chmod(dir, 0o700);
    await expect(readKeyFile(dir)).rejects.toThrow(/not a regular file|accessible by group/);
  });
});
