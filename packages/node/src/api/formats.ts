import { MAX_AMOUNT } from "@cardio/core";

/*
 * String formats of the API's JSON schemas, checked by fastify's ajv. A named format (rather than a
 * bare pattern) gives each a human description for error messages and the OpenAPI document, and lets
 * `u64` check its range exactly instead of approximating it with a regex.
 */

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** An ajv format: a name, a validator and what to tell a client whose value fails it. */
interface ApiFormat {
  validate: (value: string) => boolean;
  /** Completes "<field> must be …". */
  description: string;
}

/** The formats, by name. */
export const API_FORMATS = {
  /** An amount: u64 as a decimal string (no sign, no leading zeros, no exponent). */
  u64: {
    validate: (v) => v.length <= 20 && DECIMAL.test(v) && BigInt(v) <= MAX_AMOUNT,
    description: `a decimal string of a whole number from 0 to ${MAX_AMOUNT}`,
  },
  /** A 32-byte hash (block id, tx id, root). */
  hash: {
    validate: (v) => /^[0-9a-fA-F]{64}$/.test(v),
    description: "64 hex characters (a 32-byte hash)",
  },
  /** A 64-byte Ed25519 signature. */
  signature: {
    validate: (v) => /^[0-9a-fA-F]{128}$/.test(v),
    description: "128 hex characters (a 64-byte Ed25519 signature)",
  },
  /** Bytes as hex. */
  hex: {
    validate: (v) => v.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(v),
    description: "an even number of hex characters",
  },
  /** A block height (decimal, a safe integer) or a block hash (64 hex). */
  blockId: {
    validate: (v) =>
      (v.length <= 16 && DECIMAL.test(v) && Number.isSafeInteger(Number(v))) || /^[0-9a-fA-F]{64}$/.test(v),
    description: "a decimal block height or a 64-hex-character block hash",
  },
} satisfies Record<string, ApiFormat>;

export type ApiFormatName = keyof typeof API_FORMATS;

/** The formats in the shape ajv's `formats` option takes. */
export function ajvFormats(): Record<string, { type: "string"; validate: (value: string) => boolean }> {
  const out: Record<string, { type: "string"; validate: (value: string) => boolean }> = {};
  for (const [name, f] of Object.entries(API_FORMATS)) out[name] = { type: "string", validate: f.validate };
  return out;
}

/** What a value of `format` must be, for error messages; undefined for a format that is not ours. */
export function formatDescription(format: string): string | undefined {
  return (API_FORMATS as Record<string, ApiFormat>)[format]?.description;
}
