import { createPrivateKey, createPublicKey, type KeyObject, sign } from "node:crypto";
import sodium from "sodium-native";
import { CryptoError, CryptoErrorCode } from "./errors.js";
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "./params.js";
import type { PublicKey, Signature } from "./types.js";

/*
 * Ed25519. Signing through node:crypto (OpenSSL, 45.6k/s per core in stack.md; a forger signs one
 * header a slot). Verifying, which every node does for every block and transaction it sees, through
 * libsodium (sodium-native): 2.1x OpenSSL's rate here (~20k/s against ~9.5k/s per core, cached
 * KeyObjects; docs/benchmarks.md), and it takes the raw 32-byte key, so there is no key object to
 * import or cache. Ed25519 signatures are deterministic, so both libraries make the same bytes
 * (pinned by a property test). libsodium refuses non-canonical S values (a signature cannot be
 * malleated into a second valid one), and non-canonical or small-order public keys and R points, for
 * which OpenSSL would accept signatures that anyone can forge. Every node verifies through this one
 * function (and the sync verifier threads through the same library), so they all agree on validity.
 */

const PKCS8_ED25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const SPKI_ED25519_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
]);

/** An Ed25519 key pair. `seed` is the 32-byte private key; keep it secret. */
export interface KeyPair {
  readonly seed: Uint8Array;
  readonly publicKey: PublicKey;
  /** The OpenSSL key, created once so signing does not re-parse the seed. */
  readonly privateKeyObject: KeyObject;
}

/** The key pair of a 32-byte seed. Randomness is the caller's: core has none of its own. */
export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) {
    throw new CryptoError(CryptoErrorCode.INVALID_KEY, `Ed25519 seed must be 32 bytes, got ${seed.length}`);
  }
  const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
  const privateKeyObject = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  const spki = createPublicKey(privateKeyObject).export({ format: "der", type: "spki" });
  const publicKey = new Uint8Array(spki.subarray(SPKI_ED25519_PREFIX.length));
  return { seed: Uint8Array.from(seed), publicKey, privateKeyObject };
}

/** Signs `message` (already domain-separated by the caller). */
export function signBytes(key: KeyPair, message: Uint8Array): Signature {
  return new Uint8Array(sign(null, message, key.privateKeyObject));
}

/** True when `signature` is a valid Ed25519 signature of `message` by `publicKey`. Never throws. */
export function verifyBytes(publicKey: PublicKey, message: Uint8Array, signature: Signature): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    return sodium.crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}
