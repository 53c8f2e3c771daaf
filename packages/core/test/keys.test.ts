import { createPublicKey, verify as opensslVerify } from "node:crypto";
import { generateKeyPairFromSeed, privateKeyFromRaw, publicKeyFromRaw } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey, peerIdFromPublicKey, peerIdFromString } from "@libp2p/peer-id";
import fc from "fast-check";
import { base58btc } from "multiformats/bases/base58";
import sodium from "sodium-native";
import { describe, expect, it } from "vitest";
import { addressFromPublicKey, isValidAddress, publicKeyFromAddress } from "../src/address.js";
import { utf8 } from "../src/bytes.js";
import { CryptoError, CryptoErrorCode } from "../src/errors.js";
import { sha256 } from "../src/hash.js";
import { keyPairFromSeed, signBytes, verifyBytes } from "../src/keys.js";
import { expectError, key, pk } from "./fixtures.js";

const seed = (i: number) => sha256(utf8(`test-${i}`));

describe("keyPairFromSeed", () => {
  it("is deterministic", () => {
    const a = keyPairFromSeed(seed(1));
    const b = keyPairFromSeed(seed(1));
    expect(a.publicKey).toEqual(b.publicKey);
    expect(a.publicKey.length).toBe(32);
    expect(a.seed).toEqual(seed(1));
    const msg = utf8("hello");
    // Ed25519 signatures are deterministic too.
    expect(signBytes(a, msg)).toEqual(signBytes(b, msg));
    expect(keyPairFromSeed(seed(2)).publicKey).not.toEqual(a.publicKey);
  });

  it("copies the seed so later changes to the caller's buffer do not leak in", () => {
    const s = seed(3);
    const kp = keyPairFromSeed(s);
    s[0] = s[0]! ^ 1;
    expect(kp.seed).toEqual(seed(3));
  });

  it("matches RFC 8032 test vector 1", () => {
    const kp = keyPairFromSeed(
      Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex"),
    );
    expect(Buffer.from(kp.publicKey).toString("hex")).toBe(
      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    );
    expect(Buffer.from(signBytes(kp, new Uint8Array(0))).toString("hex")).toBe(
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    );
  });

  it.each([0, 16, 31, 33, 64])("requires a 32-byte seed (got %i)", (n) => {
    const err = expectError(
      () => keyPairFromSeed(new Uint8Array(n)),
      CryptoError,
      CryptoErrorCode.INVALID_KEY,
      "reject",
    );
    expect(err.message).toMatch(`got ${n}`);
  });
});

describe("signBytes / verifyBytes", () => {
  const msg = utf8("a message");

  it("verifies its own signatures and nothing else", () => {
    const sig = signBytes(key(0), msg);
    expect(sig.length).toBe(64);
    expect(verifyBytes(pk(0), msg, sig)).toBe(true);
    expect(verifyBytes(pk(1), msg, sig)).toBe(false);
    expect(verifyBytes(pk(0), utf8("another"), sig)).toBe(false);
    const flipped = Uint8Array.from(sig);
    flipped[10] = flipped[10]! ^ 1;
    expect(verifyBytes(pk(0), msg, flipped)).toBe(false);
  });

  it("returns false instead of throwing on malformed keys and signatures", () => {
    const sig = signBytes(key(0), msg);
    expect(verifyBytes(new Uint8Array(31), msg, sig)).toBe(false);
    expect(verifyBytes(pk(0), msg, sig.subarray(0, 63))).toBe(false);
    expect(verifyBytes(new Uint8Array(32).fill(0xff), msg, sig)).toBe(false);
    expect(verifyBytes(new Uint8Array(32), msg, new Uint8Array(64))).toBe(false);
  });

  it("rejects a non-canonical S (s + L) instead of accepting a malleated signature", () => {
    const sig = signBytes(key(0), msg);
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    const s = BigInt(`0x${Buffer.from(sig.subarray(32)).reverse().toString("hex")}`);
    // s < L < 2^253, so s + L still fits the 32-byte field.
    const le = Buffer.from((s + L).toString(16).padStart(64, "0"), "hex").reverse();
    const malleated = Uint8Array.from([...sig.subarray(0, 32), ...le]);
    expect(verifyBytes(pk(0), msg, malleated)).toBe(false);
  });
});

describe("verifyBytes on libsodium", () => {
  it("refuses a small-order public key whose signatures anyone can forge (OpenSSL accepts them)", () => {
    // A = the identity point, R = the identity point, S = 0: [S]B = R + [k]A holds for every message.
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const forged = new Uint8Array(64);
    forged[0] = 1;
    const msg = utf8("move every coin of this address");
    const asOpenSsl = createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(identity).toString("base64url") },
      format: "jwk",
    });
    expect(opensslVerify(null, msg, asOpenSsl, forged)).toBe(true);
    expect(verifyBytes(identity, msg, forged)).toBe(false);
  });

  it("agrees with OpenSSL on honest keys, and libsodium signs the same bytes as signBytes", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.nat(64 * 8 - 1),
        fc.boolean(),
        (seedBytes, message, bit, tamper) => {
          const kp = keyPairFromSeed(seedBytes);
          const sig = signBytes(kp, message);
          const publicKey = new Uint8Array(32);
          const secretKey = new Uint8Array(64);
          sodium.crypto_sign_seed_keypair(publicKey, secretKey, seedBytes);
          expect(publicKey).toEqual(kp.publicKey);
          const theirs = new Uint8Array(64);
          sodium.crypto_sign_detached(theirs, message, secretKey);
          expect(theirs).toEqual(sig);
          const checked = Uint8Array.from(sig);
          if (tamper) checked[bit >> 3] = checked[bit >> 3]! ^ (1 << (bit & 7));
          const asOpenSsl = createPublicKey({
            key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(kp.publicKey).toString("base64url") },
            format: "jwk",
          });
          const expected = opensslVerify(null, message, asOpenSsl, checked);
          expect(expected).toBe(!tamper);
          expect(verifyBytes(kp.publicKey, message, checked)).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("compatibility with libp2p", () => {
  it("derives the same public key from the same seed", async () => {
    for (let i = 0; i < 5; i++) {
      const lp = await generateKeyPairFromSeed("Ed25519", seed(i));
      expect(new Uint8Array(lp.publicKey.raw)).toEqual(pk(i));
    }
  });

  it("signatures by node:crypto and libsodium verify with libp2p's Ed25519 key and vice versa", async () => {
    const msg = utf8("cardio compatibility");
    for (let i = 0; i < 5; i++) {
      const ours = signBytes(key(i), msg);
      const libp2pPub = publicKeyFromRaw(pk(i));
      expect(await libp2pPub.verify(msg, ours)).toBe(true);
      expect(await libp2pPub.verify(utf8("other"), ours)).toBe(false);

      const lp = await generateKeyPairFromSeed("Ed25519", seed(i));
      const theirs = await lp.sign(msg);
      expect(verifyBytes(pk(i), msg, theirs)).toBe(true);
      expect(verifyBytes(pk(i + 1), msg, theirs)).toBe(false);
      // Ed25519 is deterministic: both libraries produce the very same bytes.
      expect(new Uint8Array(theirs)).toEqual(ours);
    }
  });
});

describe("addresses", () => {
  it("are 12D3KooW… PeerId strings equal to what libp2p computes", async () => {
    for (let i = 0; i < 8; i++) {
      const address = addressFromPublicKey(pk(i));
      expect(address).toMatch(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/);
      expect(address).toBe(peerIdFromPublicKey(publicKeyFromRaw(pk(i))).toString());
      const lp = await generateKeyPairFromSeed("Ed25519", seed(i));
      expect(address).toBe(peerIdFromPrivateKey(lp).toString());
      // And libp2p parses it back to the same key.
      const parsed = peerIdFromString(address);
      expect(parsed.type).toBe("Ed25519");
      expect(new Uint8Array(parsed.publicKey!.raw)).toEqual(pk(i));
    }
  });

  it("round-trip through publicKeyFromAddress", () => {
    for (let i = 0; i < 8; i++) {
      const address = addressFromPublicKey(pk(i));
      expect(publicKeyFromAddress(address)).toEqual(pk(i));
      expect(isValidAddress(address)).toBe(true);
    }
    // Any 32 bytes name an address, even ones that are not curve points.
    for (const raw of [new Uint8Array(32), new Uint8Array(32).fill(0xff)]) {
      expect(publicKeyFromAddress(addressFromPublicKey(raw))).toEqual(raw);
    }
  });

  it("addressFromPublicKey requires 32 bytes", () => {
    for (const n of [0, 31, 33]) {
      expectError(
        () => addressFromPublicKey(new Uint8Array(n)),
        CryptoError,
        CryptoErrorCode.INVALID_KEY,
        "reject",
      );
    }
  });

  const ed25519Address = addressFromPublicKey(pk(0));
  const ed25519Bytes = base58btc.baseDecode(ed25519Address);
  const secpPeerId = peerIdFromPrivateKey(privateKeyFromRaw(seed(0)));
  const invalid: Array<[string, string]> = [
    ["empty", ""],
    ["garbage", "hello world"],
    ["not base58 (0, O, I, l)", "12D3KooW0OIl"],
    ["multibase-prefixed", `z${ed25519Address}`],
    ["a CID form of the peer id", peerIdFromString(ed25519Address).toCID().toString()],
    ["an RSA peer id (Qm…)", "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"],
    ["a secp256k1 peer id (16Uiu2…)", secpPeerId.toString()],
    ["one character short", ed25519Address.slice(0, -1)],
    ["one character long", `${ed25519Address}1`],
    ["leading zero byte", `1${ed25519Address}`],
    [
      "31-byte key",
      base58btc.baseEncode(Uint8Array.from([0x00, 0x23, 0x08, 0x01, 0x12, 0x1f, ...pk(0).subarray(1)])),
    ],
    ["33-byte key", base58btc.baseEncode(Uint8Array.from([0x00, 0x25, 0x08, 0x01, 0x12, 0x21, 0, ...pk(0)]))],
    [
      "wrong key type in protobuf",
      base58btc.baseEncode(Uint8Array.from([0x00, 0x24, 0x08, 0x02, 0x12, 0x20, ...pk(0)])),
    ],
    [
      "sha256 multihash instead of identity",
      base58btc.baseEncode(Uint8Array.from([0x12, ...ed25519Bytes.subarray(1)])),
    ],
  ];

  it.each(invalid)("rejects %s with CryptoError INVALID_ADDRESS", (_name, address) => {
    expect(secpPeerId.type).toBe("secp256k1");
    expectError(() => publicKeyFromAddress(address), CryptoError, CryptoErrorCode.INVALID_ADDRESS, "reject");
    expect(isValidAddress(address)).toBe(false);
  });
});
