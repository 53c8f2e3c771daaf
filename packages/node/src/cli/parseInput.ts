import { MAX_AMOUNT, MAX_BPM, MIN_BPM, type PublicKey, publicKeyFromAddress } from "@cardio/core";
import { inputError } from "./cliError.js";

/*
 * Checks of everything a person types, done before anything is signed or sent. Each parser either
 * returns the typed value or throws a `CliError` (exit code 2) whose message names the flag and
 * repeats the offending text, so the one-line error says what to fix.
 */

const DIGITS_RE = /^[0-9]+$/;

/** Quotes user input for messages, shortened so a pasted blob cannot flood the terminal. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** A whole number of tokens from 1 to 2^64 - 1 (a zero transfer or stake is refused by the chain). */
export function parseAmount(text: string, what = "amount"): bigint {
  const value = parseU64(text, what);
  if (value === 0n) throw inputError(`${what} must be at least 1, got ${quote(text)}`);
  return value;
}

/** A whole number of tokens from 0 to 2^64 - 1 (fees, balances, stakes in a genesis). */
export function parseU64(text: string, what: string): bigint {
  const t = text.trim();
  if (/^-[0-9]/.test(t)) throw inputError(`${what} cannot be negative, got ${quote(text)}`);
  if (!DIGITS_RE.test(t)) {
    throw inputError(`${what} must be a whole number of tokens (digits only), got ${quote(text)}`);
  }
  const value = BigInt(t);
  if (value > MAX_AMOUNT) throw inputError(`${what} must be at most ${MAX_AMOUNT}, got ${quote(text)}`);
  return value;
}

/** A heart rate as a `bpm` transaction carries it: a whole number from 1 to 300. */
export function parseBpm(text: string): number {
  const t = text.trim();
  const value = DIGITS_RE.test(t) && t.length <= 4 ? Number(t) : Number.NaN;
  if (!Number.isInteger(value) || value < MIN_BPM || value > MAX_BPM) {
    throw inputError(`BPM must be a whole number from ${MIN_BPM} to ${MAX_BPM}, got ${quote(text)}`);
  }
  return value;
}

/** A whole number in `[min, max]` (ports, counts, nonces, slot lengths). */
export function parseInteger(text: string, what: string, min: number, max: number): number {
  const t = text.trim();
  // A sign is allowed only where the range has negative numbers (e.g. a clock offset).
  const signed = min < 0 && t.startsWith("-");
  const digits = signed ? t.slice(1) : t;
  const value = DIGITS_RE.test(digits) ? (signed ? -Number(digits) : Number(digits)) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw inputError(`${what} must be a whole number from ${min} to ${max}, got ${quote(text)}`);
  }
  return value;
}

/** A transaction nonce: 0 to 2^53 - 1. */
export function parseNonce(text: string): number {
  return parseInteger(text, "nonce", 0, Number.MAX_SAFE_INTEGER);
}

/** An account address (`12D3KooW…`), returned as the public key it names. */
export function parseAddress(text: string, what = "address"): PublicKey {
  try {
    return publicKeyFromAddress(text.trim());
  } catch {
    throw inputError(`${what} must be a cardio address (an Ed25519 PeerId, 12D3KooW…), got ${quote(text)}`);
  }
}

/** The base URL of a node's HTTP API; only http and https. */
export function parseNodeUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw inputError(`--node must be a URL such as http://127.0.0.1:8645, got ${quote(text)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw inputError(`--node must be an http:// or https:// URL, got ${quote(text)}`);
  }
  // One canonical form, so paths join without double slashes.
  return url.toString().replace(/\/+$/, "");
}

/** A comma-separated list of stakes, one per validator: `100,50,25`. */
export function parseStakeList(text: string): bigint[] {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === "")) {
    throw inputError(
      `--stake must be a comma-separated list of whole numbers such as 100,50,25, got ${quote(text)}`,
    );
  }
  return parts.map((p) => parseU64(p, "stake"));
}

/**
 * A genesis time: Unix milliseconds (`1767225600000`), or relative to `now`: `+5s`, `+5` (seconds)
 * or `+500ms`.
 */
export function parseGenesisTime(text: string, now: number): number {
  const t = text.trim();
  const relative = /^\+([0-9]+)(ms|s)?$/.exec(t);
  if (relative !== null) {
    const n = Number(relative[1]);
    const ms = relative[2] === "ms" ? n : n * 1000;
    if (Number.isSafeInteger(ms) && ms <= 365 * 24 * 3600 * 1000) return now + ms;
  } else if (DIGITS_RE.test(t) && Number.isSafeInteger(Number(t))) {
    return Number(t);
  }
  throw inputError(
    `--genesis-time must be Unix milliseconds or a delay from now such as +5s or +500ms, got ${quote(text)}`,
  );
}

/** One of a fixed set of words (log levels, formats). */
export function parseChoice<T extends string>(text: string, what: string, choices: readonly T[]): T {
  const t = text.trim() as T;
  if (!choices.includes(t))
    throw inputError(`${what} must be one of ${choices.join(", ")}, got ${quote(text)}`);
  return t;
}

/** Splits a repeatable, comma-separable flag (`--bootstrap a,b --bootstrap c`) into its items. */
export function splitList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
