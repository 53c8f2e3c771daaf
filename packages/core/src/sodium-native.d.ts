/*
 * The part of sodium-native (libsodium bindings, shipped with prebuilt binaries) that cardio uses.
 * The package has no types of its own, and @types/sodium-native describes an older major version.
 */
declare module "sodium-native" {
  /**
   * libsodium's `crypto_sign_verify_detached`: true when `signature` (64 bytes) is a valid Ed25519
   * signature of `message` by `publicKey` (32 bytes). Throws on wrong buffer lengths.
   */
  export function crypto_sign_verify_detached(
    signature: Uint8Array,
    message: Uint8Array,
    publicKey: Uint8Array,
  ): boolean;
  /** libsodium's `crypto_sign_detached`: signs `message` with a 64-byte secret key into `signature`. */
  export function crypto_sign_detached(
    signature: Uint8Array,
    message: Uint8Array,
    secretKey: Uint8Array,
  ): void;
  /** libsodium's `crypto_sign_seed_keypair`: the key pair of a 32-byte seed. */
  export function crypto_sign_seed_keypair(
    publicKey: Uint8Array,
    secretKey: Uint8Array,
    seed: Uint8Array,
  ): void;
}
