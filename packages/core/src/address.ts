import { base58btc } from "multiformats/bases/base58";
import { CryptoError, CryptoErrorCode } from "./errors.js";
import { PUBLIC_KEY_BYTES } from "./params.js";
import type { PublicKey } from "./types.js";

/*
 * An address is the libp2p PeerId string of an Ed25519 key: base58btc of the identity multihash
 * (0x00, length 36) of the protobuf PublicKey { Type = Ed25519 (1), Data = 32 bytes }. So a
 * validator's address is also the id its node shows on the network.
 */
const PEER_ID_PREFIX = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20]);

/** The address (PeerId string, `12D3KooW…`) of an Ed25519 public key. */
export function addressFromPublicKey(publicKey: PublicKey): string {
  if (publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new CryptoError(
      CryptoErrorCode.INVALID_KEY,
      `public key must be 32 bytes, got ${publicKey.length}`,
    );
  }
  const bytes = new Uint8Array(PEER_ID_PREFIX.length + PUBLIC_KEY_BYTES);
  bytes.set(PEER_ID_PREFIX);
  bytes.set(publicKey, PEER_ID_PREFIX.length);
  return base58btc.baseEncode(bytes);
}

/** The public key an address names; throws `CryptoError` unless it is an Ed25519 PeerId string. */
export function publicKeyFromAddress(address: string): PublicKey {
  let bytes: Uint8Array;
  try {
    bytes = base58btc.baseDecode(address);
  } catch {
    throw new CryptoError(
      CryptoErrorCode.INVALID_ADDRESS,
      `address ${JSON.stringify(address)} is not base58btc`,
    );
  }
  const ok =
    bytes.length === PEER_ID_PREFIX.length + PUBLIC_KEY_BYTES &&
    PEER_ID_PREFIX.every((b, i) => bytes[i] === b);
  if (!ok) {
    throw new CryptoError(
      CryptoErrorCode.INVALID_ADDRESS,
      `address ${JSON.stringify(address)} is not an Ed25519 PeerId (expected 12D3KooW…)`,
    );
  }
  return bytes.slice(PEER_ID_PREFIX.length);
}

/** True when `address` is a well-formed Ed25519 PeerId string. */
export function isValidAddress(address: string): boolean {
  try {
    publicKeyFromAddress(address);
    return true;
  } catch {
    return false;
  }
}
