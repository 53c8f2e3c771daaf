import { publicKeyFromAddress } from "./address.js";
import { compareBytes, concatBytes, toHex, utf8 } from "./bytes.js";
import { ByteWriter } from "./byteWriter.js";
import { GenesisError, GenesisErrorCode } from "./genesisError.js";
import { sha256 } from "./hash.js";
import {
  Domain,
  MAX_AMOUNT,
  MAX_BLOCK_BYTES_LIMIT,
  MAX_BLOCK_TXS_LIMIT,
  PUBLIC_KEY_BYTES,
} from "./params.js";
import type { Genesis, GenesisAccount, Hash, PublicKey } from "./types.js";

/*
 * The genesis document: its JSON form (`genesis.json`), its checks and its canonical bytes.
 *
 * One set of checks serves two entry points: `parseGenesis` reads untrusted JSON (amounts as
 * decimal strings, unknown fields refused) and `validateGenesis` checks an in-memory `Genesis`
 * (amounts as BigInt). Both return the canonical form, accounts sorted by public key bytes, so
 * every consumer sees one order and `genesisToJson` ∘ `parseGenesis` is the identity.
 */

/** Shortest slot length a genesis may set, in ms. */
export const MIN_SLOT_MS = 50;
/** Longest slot length a genesis may set, in ms (one hour). */
export const MAX_SLOT_MS = 3_600_000;
/** Longest unbonding delay a genesis may set, in slots. */
export const MAX_UNBONDING_DELAY = 10_000_000;
/** Smallest `maxBlockBytes` a genesis may set: room for at least one transaction of `MAX_TX_BYTES`. */
export const MIN_BLOCK_BYTES = 1024;
/** Longest chain id, in characters (all ASCII, so also bytes). */
export const MAX_CHAIN_ID_LENGTH = 64;
/**
 * Most tokens a genesis may create (sum of balances and stakes): half of the u64 range, so block
 * rewards have the other half to mint into.
 */
export const MAX_GENESIS_SUPPLY = 2n ** 63n;
/**
 * How long, in ms, block rewards must be able to mint without the supply leaving u64, assuming
 * every slot is filled: 100 years of 365.25 days.
 */
export const SUPPLY_HORIZON_MS = 100 * 365.25 * 24 * 3600 * 1000;

/** An account as written in `genesis.json`. */
export interface GenesisAccountJson {
  readonly address: string;
  /** Decimal string. */
  readonly balance: string;
  /** Decimal string. */
  readonly stake: string;
}

/** The JSON form of a genesis (`genesis.json`). Amounts are decimal strings, times are ms. */
export interface GenesisJson {
  readonly chainId: string;
  readonly genesisTime: number;
  readonly slotMs: number;
  readonly blockReward: string;
  readonly minStake: string;
  readonly unbondingDelay: number;
  readonly maxBlockTxs: number;
  readonly maxBlockBytes: number;
  readonly accounts: readonly GenesisAccountJson[];
}

const GENESIS_FIELDS = [
  "chainId",
  "genesisTime",
  "slotMs",
  "blockReward",
  "minStake",
  "unbondingDelay",
  "maxBlockTxs",
  "maxBlockBytes",
  "accounts",
] as const satisfies readonly (keyof Genesis)[];
const ACCOUNT_FIELDS = ["address", "balance", "stake"] as const satisfies readonly (keyof GenesisAccount)[];

const CHAIN_ID_RE = /^[a-z0-9-]+$/;
const DECIMAL_RE = /^(0|[1-9][0-9]*)$/;
/** Digits of 2^64 - 1; a longer decimal string is out of range without parsing it. */
const MAX_AMOUNT_DIGITS = MAX_AMOUNT.toString().length;

/**
 * `json`: untrusted JSON, amounts as decimal strings or safe integers, unknown fields refused.
 * `value`: an in-memory `Genesis`, amounts as BigInt, extra properties ignored.
 */
type Mode = "json" | "value";
type Fields = Record<string, unknown>;

/** `genesis.accounts[2].stake` for the path `accounts[2].stake`. */
function label(path: string): string {
  if (path === "") return "genesis";
  return path.startsWith("[") ? `genesis${path}` : `genesis.${path}`;
}

function childPath(parent: string, key: string): string {
  if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === "" ? key : `${parent}.${key}`;
}

/** A short, unambiguous rendering of an offending value for error messages. */
function show(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 48 ? `${value.slice(0, 48)}…` : value);
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "boolean":
    case "undefined":
      return String(value);
    case "object":
      if (value === null) return "null";
      return Array.isArray(value) ? "an array" : "an object";
    default:
      return `a ${typeof value}`;
  }
}

function fail(code: GenesisErrorCode, path: string, message: string, extra: Fields = {}): never {
  throw new GenesisError(code, `${label(path)} ${message}`, { path, ...extra });
}

function invalid(path: string, expected: string, value: unknown, reason?: string): never {
  const why = reason === undefined ? "" : ` (${reason})`;
  return fail(GenesisErrorCode.INVALID_FIELD, path, `must be ${expected}, got ${show(value)}${why}`, {
    expected,
  });
}

function isPlainObject(value: unknown): value is Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function expectObject(value: unknown, path: string, expected: string, mode: Mode): Fields {
  const ok =
    mode === "json"
      ? isPlainObject(value)
      : typeof value === "object" && value !== null && !Array.isArray(value);
  if (!ok) invalid(path, expected, value);
  return value as Fields;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Refuses fields the format does not define, so a typo (`slotMS`) cannot silently fall back to nothing. */
function rejectUnknownFields(obj: Fields, known: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const suggestion = known.find(
      (k) => k.toLowerCase() === key.toLowerCase() || editDistance(k.toLowerCase(), key.toLowerCase()) <= 2,
    );
    const hint = suggestion === undefined ? "" : ` (did you mean ${JSON.stringify(suggestion)}?)`;
    const where = childPath(path, key);
    throw new GenesisError(
      GenesisErrorCode.UNKNOWN_FIELD,
      `${label(path)} has an unknown field ${JSON.stringify(key)}${hint}`,
      suggestion === undefined ? { path: where, field: key } : { path: where, field: key, suggestion },
    );
  }
}

function field(obj: Fields, key: string, path: string, expected: string, mode: Mode): unknown {
  // JSON objects are plain, so only own properties count; in-memory values may use getters.
  const value = mode === "json" ? (Object.hasOwn(obj, key) ? obj[key] : undefined) : obj[key];
  if (value === undefined) {
    const where = childPath(path, key);
    fail(GenesisErrorCode.MISSING_FIELD, where, `is missing (expected ${expected})`, { expected });
  }
  return value;
}

function intExpected(min: number, max: number): string {
  return `an integer between ${min} and ${max}`;
}

function readInt(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    invalid(path, intExpected(min, max), value);
  }
  return value === 0 ? 0 : value; // folds -0, which JSON allows, into 0
}

function amountExpected(min: bigint, mode: Mode): string {
  const range = `a whole number from ${min} to ${MAX_AMOUNT}`;
  return mode === "json" ? `${range} as a decimal string` : `${range} as a bigint`;
}

function readAmount(value: unknown, path: string, min: bigint, mode: Mode): bigint {
  const expected = amountExpected(min, mode);
  let amount: bigint;
  if (mode === "value") {
    if (typeof value !== "bigint") invalid(path, expected, value);
    amount = value;
  } else if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      const reason =
        Number.isInteger(value) && value > 0
          ? "numbers above 2^53-1 lose precision in JSON; write it as a string"
          : undefined;
      invalid(path, expected, value, reason);
    }
    amount = BigInt(value);
  } else if (typeof value === "string") {
    if (!DECIMAL_RE.test(value)) {
      const reason = /^0[0-9]+$/.test(value) ? "no leading zeros" : "digits only, no sign, point or spaces";
      invalid(path, expected, value, reason);
    }
    if (value.length > MAX_AMOUNT_DIGITS) invalid(path, expected, value, "too large");
    amount = BigInt(value);
  } else {
    invalid(path, expected, value);
  }
  if (amount < min) invalid(path, expected, value);
  if (amount > MAX_AMOUNT) invalid(path, expected, value, "too large");
  return amount;
}

const CHAIN_ID_EXPECTED = `1 to ${MAX_CHAIN_ID_LENGTH} characters of a-z, 0-9 and "-"`;

function readChainId(value: unknown, path: string): string {
  if (typeof value !== "string" || value.length > MAX_CHAIN_ID_LENGTH || !CHAIN_ID_RE.test(value)) {
    invalid(path, CHAIN_ID_EXPECTED, value);
  }
  return value;
}

const ADDRESS_EXPECTED = "an Ed25519 PeerId string (12D3KooW…)";

function readAddress(value: unknown, path: string): { address: string; publicKey: PublicKey } {
  if (typeof value !== "string") invalid(path, ADDRESS_EXPECTED, value);
  try {
    return { address: value, publicKey: publicKeyFromAddress(value) };
  } catch {
    return fail(GenesisErrorCode.INVALID_ADDRESS, path, `must be ${ADDRESS_EXPECTED}, got ${show(value)}`, {
      expected: ADDRESS_EXPECTED,
    });
  }
}

/** Most blocks that can be forged within `SUPPLY_HORIZON_MS`. */
function blocksWithinHorizon(slotMs: number): bigint {
  return BigInt(Math.ceil(SUPPLY_HORIZON_MS / slotMs));
}

interface Canonical {
  readonly genesis: Genesis;
  /** Public keys of `genesis.accounts`, same order. */
  readonly publicKeys: readonly PublicKey[];
}

function check(input: unknown, mode: Mode): Canonical {
  const root = expectObject(input, "", "a JSON object", mode);
  if (mode === "json") rejectUnknownFields(root, GENESIS_FIELDS, "");

  const intField = (key: string, min: number, max: number): number =>
    readInt(field(root, key, "", intExpected(min, max), mode), key, min, max);
  const amountField = (key: string, min: bigint): bigint =>
    readAmount(field(root, key, "", amountExpected(min, mode), mode), key, min, mode);

  const chainId = readChainId(field(root, "chainId", "", CHAIN_ID_EXPECTED, mode), "chainId");
  const genesisTime = intField("genesisTime", 0, Number.MAX_SAFE_INTEGER);
  const slotMs = intField("slotMs", MIN_SLOT_MS, MAX_SLOT_MS);
  const blockReward = amountField("blockReward", 0n);
  // Zero would make every account a validator, stake or not, and totalStake could be zero.
  const minStake = amountField("minStake", 1n);
  const unbondingDelay = intField("unbondingDelay", 0, MAX_UNBONDING_DELAY);
  const maxBlockTxs = intField("maxBlockTxs", 1, MAX_BLOCK_TXS_LIMIT);
  const maxBlockBytes = intField("maxBlockBytes", MIN_BLOCK_BYTES, MAX_BLOCK_BYTES_LIMIT);

  const accountsValue = field(root, "accounts", "", "an array of accounts", mode);
  if (!Array.isArray(accountsValue)) invalid("accounts", "an array of accounts", accountsValue);

  const seen = new Map<string, number>();
  let supply = 0n;
  let hasValidator = false;
  const entries = accountsValue.map((item: unknown, i) => {
    const path = `accounts[${i}]`;
    const obj = expectObject(item, path, "an object with address, balance and stake", mode);
    if (mode === "json") rejectUnknownFields(obj, ACCOUNT_FIELDS, path);
    const addressPath = `${path}.address`;
    const { address, publicKey } = readAddress(
      field(obj, "address", path, ADDRESS_EXPECTED, mode),
      addressPath,
    );
    const amount = (key: string): bigint =>
      readAmount(field(obj, key, path, amountExpected(0n, mode), mode), `${path}.${key}`, 0n, mode);
    const balance = amount("balance");
    const stake = amount("stake");

    const id = toHex(publicKey);
    const first = seen.get(id);
    if (first !== undefined) {
      fail(GenesisErrorCode.DUPLICATE_ACCOUNT, addressPath, `repeats the address of accounts[${first}]`, {
        firstIndex: first,
        address,
      });
    }
    seen.set(id, i);
    supply += balance + stake;
    if (stake >= minStake) hasValidator = true;
    const account: GenesisAccount = { address, balance, stake };
    return { account, publicKey };
  });

  if (!hasValidator) {
    fail(
      GenesisErrorCode.NO_VALIDATORS,
      "accounts",
      `has no validator: at least one account needs stake ≥ minStake (${minStake}), or no block can ever be forged`,
      { minStake: minStake.toString() },
    );
  }
  if (supply > MAX_GENESIS_SUPPLY) {
    fail(
      GenesisErrorCode.SUPPLY_OVERFLOW,
      "accounts",
      `hold ${supply} tokens in total (balances + stakes), more than the limit of 2^63 = ${MAX_GENESIS_SUPPLY}`,
      { total: supply.toString(), max: MAX_GENESIS_SUPPLY.toString() },
    );
  }
  // Rewards are the only way tokens are minted; a reward this large would overflow u64 balances
  // (and halt the chain) within the horizon even though the initial supply fits.
  const minted = blockReward * blocksWithinHorizon(slotMs);
  if (supply + minted > MAX_AMOUNT) {
    const maxReward = (MAX_AMOUNT - supply) / blocksWithinHorizon(slotMs);
    fail(
      GenesisErrorCode.SUPPLY_OVERFLOW,
      "blockReward",
      `is too large: at one block every ${slotMs} ms the supply would pass 2^64-1 within 100 years; at most ${maxReward} with this supply and slotMs`,
      { max: maxReward.toString() },
    );
  }

  entries.sort((a, b) => compareBytes(a.publicKey, b.publicKey));
  const genesis: Genesis = {
    chainId,
    genesisTime,
    slotMs,
    blockReward,
    minStake,
    unbondingDelay,
    maxBlockTxs,
    maxBlockBytes,
    accounts: entries.map((e) => e.account),
  };
  return { genesis, publicKeys: entries.map((e) => e.publicKey) };
}

/**
 * Reads a genesis document from parsed JSON (see `GenesisJson`), checking every field, and returns
 * it with accounts sorted by public key bytes. Amounts may be decimal strings or safe integers.
 * Throws `GenesisError` naming the first wrong field (`meta.path`, e.g. `accounts[2].stake`).
 */
export function parseGenesis(json: unknown): Genesis {
  return check(json, "json").genesis;
}

/** `parseGenesis` of JSON text; text that is not JSON throws `GenesisError` `GENESIS_INVALID_JSON`. */
export function parseGenesisJson(text: string): Genesis {
  let json: unknown;
  try {
    // Editors on some systems save a byte-order mark, which JSON.parse refuses.
    json = JSON.parse(typeof text === "string" && text.startsWith("\uFEFF") ? text.slice(1) : text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new GenesisError(GenesisErrorCode.INVALID_JSON, `genesis is not valid JSON: ${reason}`, {
      path: "",
      reason,
    });
  }
  return parseGenesis(json);
}

/**
 * Checks an in-memory genesis by the same rules as `parseGenesis` and returns its canonical form
 * (accounts sorted by public key bytes). Throws `GenesisError`; paths index the input's accounts.
 */
export function validateGenesis(genesis: Genesis): Genesis {
  return check(genesis, "value").genesis;
}

/**
 * The JSON form of a genesis: amounts as decimal strings, accounts sorted by public key bytes.
 * `parseGenesis(genesisToJson(g))` equals `validateGenesis(g)`. Throws `GenesisError` if `g` is invalid,
 * so a written genesis file always parses.
 */
export function genesisToJson(genesis: Genesis): GenesisJson {
  const g = validateGenesis(genesis);
  return {
    chainId: g.chainId,
    genesisTime: g.genesisTime,
    slotMs: g.slotMs,
    blockReward: g.blockReward.toString(),
    minStake: g.minStake.toString(),
    unbondingDelay: g.unbondingDelay,
    maxBlockTxs: g.maxBlockTxs,
    maxBlockBytes: g.maxBlockBytes,
    accounts: g.accounts.map((a) => ({
      address: a.address,
      balance: a.balance.toString(),
      stake: a.stake.toString(),
    })),
  };
}

/**
 * Canonical bytes of the whole genesis document (integers big-endian):
 *
 *     u8 len(chainId) ‖ utf8(chainId) ‖ u64 genesisTime ‖ u64 slotMs ‖ u64 blockReward ‖
 *     u64 minStake ‖ u64 unbondingDelay ‖ u64 maxBlockTxs ‖ u64 maxBlockBytes ‖
 *     u32 accountCount ‖ accountCount × (publicKey[32] ‖ u64 balance ‖ u64 stake)
 *
 * with accounts sorted by public key bytes, so the input's account order does not matter.
 * Throws `GenesisError` if the genesis is invalid.
 */
export function encodeGenesis(genesis: Genesis): Uint8Array {
  const { genesis: g, publicKeys } = check(genesis, "value");
  const id = utf8(g.chainId);
  const w = new ByteWriter(1 + id.length + 7 * 8 + 4 + g.accounts.length * (PUBLIC_KEY_BYTES + 16));
  w.u8(id.length)
    .raw(id)
    .u64n(g.genesisTime)
    .u64n(g.slotMs)
    .u64(g.blockReward)
    .u64(g.minStake)
    .u64n(g.unbondingDelay)
    .u64n(g.maxBlockTxs)
    .u64n(g.maxBlockBytes)
    .u32(g.accounts.length);
  g.accounts.forEach((a, i) => {
    w.fixed(publicKeys[i]!, PUBLIC_KEY_BYTES).u64(a.balance).u64(a.stake);
  });
  return w.finish();
}

/**
 * `sha256(utf8("cardio/genesis") ‖ encodeGenesis(g))`. The genesis block's parent hash is this
 * value, so the chain commits to every parameter and initial account, and nodes started from
 * different genesis files can never agree on a block.
 */
export function genesisHash(genesis: Genesis): Hash {
  return sha256(concatBytes(utf8(Domain.genesis), encodeGenesis(genesis)));
}
