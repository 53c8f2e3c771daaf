/**
 * What a gossip validator does with a message: `accept` relays it, `ignore` drops it without
 * blaming the sender (maybe early, late, duplicate or with an unknown parent), `reject` drops it and
 * penalises the sender (provably invalid).
 */
export type Verdict = "accept" | "ignore" | "reject";

/** Base of every cardio error: a machine-readable `code`, metadata and a gossip verdict. */
export abstract class CardioError<Code extends string> extends Error {
  readonly code: Code;
  readonly meta: Readonly<Record<string, unknown>>;
  readonly verdict: Exclude<Verdict, "accept">;

  constructor(
    code: Code,
    message: string,
    meta: Record<string, unknown> = {},
    verdict: Exclude<Verdict, "accept"> = "reject",
  ) {
    super(message);
    this.code = code;
    this.meta = meta;
    this.verdict = verdict;
  }
}

/** Why bytes failed to decode. Decoding errors are always REJECT: the bytes can never become valid. */
export const CodecErrorCode = {
  TRUNCATED: "CODEC_TRUNCATED",
  TRAILING_BYTES: "CODEC_TRAILING_BYTES",
  UNKNOWN_KIND: "CODEC_UNKNOWN_KIND",
  OUT_OF_RANGE: "CODEC_OUT_OF_RANGE",
  TOO_LARGE: "CODEC_TOO_LARGE",
  INVALID_VALUE: "CODEC_INVALID_VALUE",
} as const;
export type CodecErrorCode = (typeof CodecErrorCode)[keyof typeof CodecErrorCode];

/** A byte string that is not the canonical encoding of any value of the expected type. */
export class CodecError extends CardioError<CodecErrorCode> {
  override readonly name = "CodecError";
}

/** Why a key, address or signature was refused. */
export const CryptoErrorCode = {
  INVALID_ADDRESS: "CRYPTO_INVALID_ADDRESS",
  INVALID_KEY: "CRYPTO_INVALID_KEY",
} as const;
export type CryptoErrorCode = (typeof CryptoErrorCode)[keyof typeof CryptoErrorCode];

/** A malformed key or address. */
export class CryptoError extends CardioError<CryptoErrorCode> {
  override readonly name = "CryptoError";
}
