import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addressFromPublicKey, publicKeyFromAddress } from "../src/address.js";
import { compareBytes, toHex, utf8 } from "../src/bytes.js";
import { CardioError } from "../src/errors.js";
import {
  encodeGenesis,
  type GenesisJson,
  genesisHash,
  genesisToJson,
  MAX_GENESIS_SUPPLY,
  parseGenesis,
  parseGenesisJson,
  validateGenesis,
} from "../src/genesis.js";
import { GenesisError, GenesisErrorCode } from "../src/genesisError.js";
import { sha256 } from "../src/hash.js";
import { keyPairFromSeed } from "../src/keys.js";
import { MAX_AMOUNT, MAX_BLOCK_BYTES_LIMIT, MAX_BLOCK_TXS_LIMIT } from "../src/params.js";
import type { Genesis } from "../src/types.js";

const ADDRESSES = Array.from({ length: 12 }, (_, i) =>
  addressFromPublicKey(keyPairFromSeed(sha256(utf8(`genesis-test-${i}`))).publicKey),
);
const addr = (i: number): string => ADDRESSES[i]!;

type Json = Record<string, unknown>;

function validJson(): Json {
  return {
    chainId: "cardio-devnet",
    genesisTime: 1764160000000,
    slotMs: 2000,
    blockReward: "10",
    minStake: "10",
    unbondingDelay: 20,
    maxBlockTxs: 1000,
    maxBlockBytes: 1048576,
    accounts: [
      { address: addr(0), balance: "1000", stake: "100" },
      { address: addr(1), balance: "500", stake: "0" },
      { address: addr(2), balance: "0", stake: "10" },
    ],
  };
}

function withField(key: string, value: unknown): Json {
  return { ...validJson(), [key]: value };
}

function withAccountField(index: number, key: string, value: unknown): Json {
  const json = validJson();
  const accounts = (json.accounts as Json[]).map((a) => ({ ...a }));
  accounts[index]![key] = value;
  return { ...json, accounts };
}

/** The GenesisError `fn` throws. */
function genesisError(fn: () => unknown): GenesisError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GenesisError);
    return err as GenesisError;
  }
  throw new Error("expected a GenesisError");
}

function expectError(json: unknown, code: GenesisErrorCode, path: string): GenesisError {
  const err = genesisError(() => parseGenesis(json));
  expect({ code: err.code, path: err.meta.path }).toEqual({ code, path });
  return err;
}

describe("parseGenesis", () => {
  it("reads a valid document, sorting accounts by public key bytes", () => {
    const g = parseGenesis(validJson());
    expect(g).toMatchObject({
      chainId: "cardio-devnet",
      genesisTime: 1764160000000,
      slotMs: 2000,
      blockReward: 10n,
      minStake: 10n,
      unbondingDelay: 20,
      maxBlockTxs: 1000,
      maxBlockBytes: 1048576,
    });
    const keys = g.accounts.map((a) => publicKeyFromAddress(a.address));
    expect([...keys].sort(compareBytes)).toEqual(keys);
    const byAddress = new Map(g.accounts.map((a) => [a.address, a]));
    expect(byAddress.get(addr(0))).toEqual({ address: addr(0), balance: 1000n, stake: 100n });
    expect(byAddress.get(addr(1))).toEqual({ address: addr(1), balance: 500n, stake: 0n });
    expect(byAddress.get(addr(2))).toEqual({ address: addr(2), balance: 0n, stake: 10n });
  });

  it("accepts amounts written as safe integers", () => {
    const g = parseGenesis({ ...withAccountField(0, "balance", 1000), blockReward: 0, minStake: 10 });
    expect(g.blockReward).toBe(0n);
    expect(g.accounts.find((a) => a.address === addr(0))?.balance).toBe(1000n);
  });

  it("gives a message naming the field, the rule and the value", () => {
    const err = expectError(withField("slotMs", "abc"), GenesisErrorCode.INVALID_FIELD, "slotMs");
    expect(err.message).toBe('genesis.slotMs must be an integer between 50 and 3600000, got "abc"');
    expect(err).toBeInstanceOf(CardioError);
    expect(err.name).toBe("GenesisError");
  });

  const intCases: [string, number, number][] = [
    ["genesisTime", 0, Number.MAX_SAFE_INTEGER],
    ["slotMs", 50, 3_600_000],
    ["unbondingDelay", 0, 10_000_000],
    ["maxBlockTxs", 1, MAX_BLOCK_TXS_LIMIT],
    ["maxBlockBytes", 1024, MAX_BLOCK_BYTES_LIMIT],
  ];
  describe.each(intCases)("%s", (key, min, max) => {
    it("accepts both bounds", () => {
      expect(parseGenesis(withField(key, min))[key as keyof Genesis]).toBe(min);
      expect(parseGenesis(withField(key, max))[key as keyof Genesis]).toBe(max);
    });
    it.each([min - 1, max + 1, 1.5, Number.NaN, "100", null, true, [100]])("refuses %s", (value) => {
      expectError(withField(key, value), GenesisErrorCode.INVALID_FIELD, key);
    });
  });

  it("folds -0 into 0", () => {
    expect(Object.is(parseGenesis(withField("unbondingDelay", -0)).unbondingDelay, 0)).toBe(true);
  });

  describe("chainId", () => {
    it.each(["a", "cardio-devnet-2", "0-9", "x".repeat(64)])("accepts %j", (id) => {
      expect(parseGenesis(withField("chainId", id)).chainId).toBe(id);
    });
    it.each(["", "x".repeat(65), "Cardio", "cardio_devnet", "cardio devnet", "cardiö", 7, null])(
      "refuses %j",
      (id) => {
        expectError(withField("chainId", id), GenesisErrorCode.INVALID_FIELD, "chainId");
      },
    );
  });

  describe("amounts", () => {
    it.each([
      "-1",
      "01",
      "00",
      "1.0",
      " 1",
      "1 ",
      "+1",
      "1e3",
      "0x10",
      "",
      "18446744073709551616",
      "1".repeat(500),
      -1,
      1.5,
      2 ** 53,
      1e21,
      Number.POSITIVE_INFINITY,
      null,
      true,
      {},
    ])("refuses %j", (value) => {
      expectError(
        withAccountField(1, "balance", value),
        GenesisErrorCode.INVALID_FIELD,
        "accounts[1].balance",
      );
      expectError(withField("blockReward", value), GenesisErrorCode.INVALID_FIELD, "blockReward");
    });

    it("explains a leading zero and a number too large for JSON", () => {
      expect(genesisError(() => parseGenesis(withField("blockReward", "010"))).message).toContain(
        "no leading zeros",
      );
      expect(genesisError(() => parseGenesis(withField("blockReward", 2 ** 60))).message).toContain(
        "write it as a string",
      );
    });

    it("accepts 2^64-1 as an amount (the supply rule is what refuses it here)", () => {
      const max = MAX_AMOUNT.toString();
      expectError(withAccountField(1, "balance", max), GenesisErrorCode.SUPPLY_OVERFLOW, "accounts");
    });

    it("requires minStake ≥ 1", () => {
      expectError(withField("minStake", "0"), GenesisErrorCode.INVALID_FIELD, "minStake");
      expect(parseGenesis(withField("minStake", "1")).minStake).toBe(1n);
    });
  });

  describe("shape", () => {
    it.each([null, [], "genesis", 5, undefined, new Map(), Object.create({ chainId: "x" })])(
      "refuses a document that is not a plain object: %s",
      (value) => {
        expectError(value, GenesisErrorCode.INVALID_FIELD, "");
      },
    );

    it.each([
      "chainId",
      "genesisTime",
      "slotMs",
      "blockReward",
      "minStake",
      "unbondingDelay",
      "maxBlockTxs",
      "maxBlockBytes",
      "accounts",
    ])("requires %s", (key) => {
      const json = validJson();
      delete json[key];
      const err = expectError(json, GenesisErrorCode.MISSING_FIELD, key);
      expect(err.message).toMatch(new RegExp(`^genesis\\.${key} is missing \\(expected .+\\)$`));
    });

    it.each(["address", "balance", "stake"])("requires accounts[].%s", (key) => {
      const json = validJson();
      delete (json.accounts as Json[])[2]![key];
      expectError(json, GenesisErrorCode.MISSING_FIELD, `accounts[2].${key}`);
    });

    it("refuses an unknown top-level field and suggests the likely one", () => {
      const json = validJson();
      delete json.slotMs;
      json.slotMS = 2000;
      const err = expectError(json, GenesisErrorCode.UNKNOWN_FIELD, "slotMS");
      expect(err.message).toBe('genesis has an unknown field "slotMS" (did you mean "slotMs"?)');
      expect(err.meta.suggestion).toBe("slotMs");
    });

    it("refuses an unknown field even when nothing is missing", () => {
      const err = expectError(withField("comment", "hi"), GenesisErrorCode.UNKNOWN_FIELD, "comment");
      expect(err.meta.suggestion).toBeUndefined();
      expectError(withField("my field", 1), GenesisErrorCode.UNKNOWN_FIELD, '["my field"]');
      expectError(JSON.parse(`{"__proto__": 1}`), GenesisErrorCode.UNKNOWN_FIELD, "__proto__");
    });

    it("refuses an unknown account field", () => {
      const err = expectError(
        withAccountField(1, "stak", "5"),
        GenesisErrorCode.UNKNOWN_FIELD,
        "accounts[1].stak",
      );
      expect(err.message).toBe('genesis.accounts[1] has an unknown field "stak" (did you mean "stake"?)');
    });

    it("refuses accounts that are not an array of objects", () => {
      expectError(withField("accounts", {}), GenesisErrorCode.INVALID_FIELD, "accounts");
      expectError(withField("accounts", "none"), GenesisErrorCode.INVALID_FIELD, "accounts");
      const json = validJson();
      (json.accounts as unknown[])[1] = addr(1);
      expectError(json, GenesisErrorCode.INVALID_FIELD, "accounts[1]");
    });
  });

  describe("accounts", () => {
    it.each([
      "",
      "not-an-address",
      "12D3KooW",
      "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N", // an RSA-style (sha256) PeerId
      `${addr(0)}x`,
      addr(0).slice(0, -1),
      `${addr(0).slice(0, -1)}0`, // 0 is not a base58 digit
    ])("refuses the address %j", (address) => {
      const err = expectError(
        withAccountField(1, "address", address),
        GenesisErrorCode.INVALID_ADDRESS,
        "accounts[1].address",
      );
      expect(err.message).toContain("genesis.accounts[1].address must be an Ed25519 PeerId");
    });

    it("refuses an address that is not a string", () => {
      expectError(withAccountField(1, "address", 42), GenesisErrorCode.INVALID_FIELD, "accounts[1].address");
    });

    it("refuses a duplicate account, pointing at the second occurrence", () => {
      const json = validJson();
      (json.accounts as Json[]).push({ address: addr(1), balance: "1", stake: "0" });
      const err = expectError(json, GenesisErrorCode.DUPLICATE_ACCOUNT, "accounts[3].address");
      expect(err.meta.firstIndex).toBe(1);
      expect(err.message).toBe("genesis.accounts[3].address repeats the address of accounts[1]");
    });

    it("requires at least one validator", () => {
      expectError(withField("accounts", []), GenesisErrorCode.NO_VALIDATORS, "accounts");
      const err = expectError(withField("minStake", "101"), GenesisErrorCode.NO_VALIDATORS, "accounts");
      expect(err.message).toContain("minStake (101)");
      // exactly minStake is enough
      expect(parseGenesis(withField("minStake", "100")).minStake).toBe(100n);
    });

    it("limits the total supply to 2^63", () => {
      const half = (MAX_GENESIS_SUPPLY / 2n).toString();
      const json = withField("accounts", [
        { address: addr(0), balance: half, stake: "0" },
        { address: addr(1), balance: "0", stake: half },
      ]);
      expect(parseGenesis({ ...json, blockReward: "0" }).accounts).toHaveLength(2);
      const over = withField("accounts", [
        { address: addr(0), balance: half, stake: "0" },
        { address: addr(1), balance: "1", stake: half },
      ]);
      const err = expectError({ ...over, blockReward: "0" }, GenesisErrorCode.SUPPLY_OVERFLOW, "accounts");
      expect(err.meta.total).toBe((MAX_GENESIS_SUPPLY + 1n).toString());
    });

    it("refuses a block reward that would overflow u64 within 100 years", () => {
      const err = expectError(
        withField("blockReward", "1000000000000"),
        GenesisErrorCode.SUPPLY_OVERFLOW,
        "blockReward",
      );
      const max = BigInt(err.meta.max as string);
      expect(parseGenesis(withField("blockReward", max.toString())).blockReward).toBe(max);
      expectError(
        withField("blockReward", (max + 1n).toString()),
        GenesisErrorCode.SUPPLY_OVERFLOW,
        "blockReward",
      );
    });
  });
});

describe("parseGenesisJson", () => {
  it("parses JSON text, with or without a byte-order mark", () => {
    const text = JSON.stringify(validJson(), null, 2);
    expect(parseGenesisJson(text)).toEqual(parseGenesis(validJson()));
    expect(parseGenesisJson(`\uFEFF${text}`)).toEqual(parseGenesis(validJson()));
  });

  it.each(["", "{", "{'chainId': 1}", '{"a": 1,}', "undefined"])("wraps invalid JSON %j", (text) => {
    const err = genesisError(() => parseGenesisJson(text));
    expect(err.code).toBe(GenesisErrorCode.INVALID_JSON);
    expect(err.meta.path).toBe("");
    expect(err.message).toMatch(/^genesis is not valid JSON: /);
  });

  it("reports field errors of valid JSON as such", () => {
    const err = genesisError(() => parseGenesisJson("[]"));
    expect(err.code).toBe(GenesisErrorCode.INVALID_FIELD);
  });
});

describe("validateGenesis", () => {
  const g = parseGenesis(validJson());

  it("returns the canonical form of a valid value", () => {
    expect(validateGenesis({ ...g, accounts: [...g.accounts].reverse() })).toEqual(g);
  });

  it("requires bigint amounts and applies the same rules", () => {
    const bad = { ...g, blockReward: 10 } as unknown as Genesis;
    const err = genesisError(() => validateGenesis(bad));
    expect({ code: err.code, path: err.meta.path }).toEqual({
      code: GenesisErrorCode.INVALID_FIELD,
      path: "blockReward",
    });
    const negative = { ...g, accounts: [{ ...g.accounts[0]!, stake: -1n }] };
    expect(genesisError(() => validateGenesis(negative)).meta.path).toBe("accounts[0].stake");
    const tooBig = { ...g, minStake: MAX_AMOUNT + 1n };
    expect(genesisError(() => validateGenesis(tooBig)).meta.path).toBe("minStake");
  });

  it("makes encodeGenesis, genesisHash and genesisToJson refuse invalid values", () => {
    const bad = { ...g, chainId: "x".repeat(300) };
    for (const fn of [encodeGenesis, genesisHash, genesisToJson]) {
      expect(genesisError(() => fn(bad)).meta.path).toBe("chainId");
    }
  });
});

describe("encodeGenesis and genesisHash", () => {
  const g = parseGenesis(validJson());

  it("lays out the document as documented", () => {
    const bytes = encodeGenesis(g);
    const id = utf8(g.chainId);
    expect(bytes.length).toBe(1 + id.length + 7 * 8 + 4 + 3 * 48);
    expect(bytes[0]).toBe(id.length);
    expect(bytes.subarray(1, 1 + id.length)).toEqual(id);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = 1 + id.length;
    const u64s = [
      g.genesisTime,
      g.slotMs,
      g.blockReward,
      g.minStake,
      g.unbondingDelay,
      g.maxBlockTxs,
      g.maxBlockBytes,
    ];
    for (const v of u64s) {
      expect(view.getBigUint64(at)).toBe(BigInt(v));
      at += 8;
    }
    expect(view.getUint32(at)).toBe(3);
    at += 4;
    for (const a of g.accounts) {
      expect(bytes.subarray(at, at + 32)).toEqual(publicKeyFromAddress(a.address));
      expect(view.getBigUint64(at + 32)).toBe(a.balance);
      expect(view.getBigUint64(at + 40)).toBe(a.stake);
      at += 48;
    }
  });

  it("hashes the domain tag and the encoding", () => {
    const expected = sha256(new Uint8Array([...utf8("cardio/genesis"), ...encodeGenesis(g)]));
    expect(genesisHash(g)).toEqual(expected);
    // Pins the format: a change here forks every existing chain.
    expect(toHex(genesisHash(g))).toMatchInlineSnapshot(
      `"aaf9331c49fece2a358d7f6bf45b1e3abd2adcd0ea946c5b9539b5f97f4f6d85"`,
    );
  });

  it("does not depend on the input order of accounts", () => {
    const reversed = { ...g, accounts: [...g.accounts].reverse() };
    expect(encodeGenesis(reversed)).toEqual(encodeGenesis(g));
  });

  it("changes when any field changes", () => {
    const a0 = g.accounts[0]!;
    const variants: Genesis[] = [
      { ...g, chainId: "cardio-devnet2" },
      { ...g, genesisTime: g.genesisTime + 1 },
      { ...g, slotMs: g.slotMs + 1 },
      { ...g, blockReward: g.blockReward + 1n },
      { ...g, minStake: g.minStake - 1n },
      { ...g, unbondingDelay: g.unbondingDelay + 1 },
      { ...g, maxBlockTxs: g.maxBlockTxs + 1 },
      { ...g, maxBlockBytes: g.maxBlockBytes + 1 },
      { ...g, accounts: [{ ...a0, balance: a0.balance + 1n }, ...g.accounts.slice(1)] },
      { ...g, accounts: [{ ...a0, stake: a0.stake + 1n }, ...g.accounts.slice(1)] },
      { ...g, accounts: [{ ...a0, address: addr(9) }, ...g.accounts.slice(1)] },
      { ...g, accounts: [...g.accounts, { address: addr(10), balance: 0n, stake: 0n }] },
      { ...g, accounts: g.accounts.filter((a) => a.address !== addr(1)) },
    ];
    const hashes = new Set([toHex(genesisHash(g)), ...variants.map((v) => toHex(genesisHash(v)))]);
    expect(hashes.size).toBe(variants.length + 1);
  });
});

/** A random valid genesis, accounts in random (not canonical) order. */
const genesisArb: fc.Arbitrary<Genesis> = fc
  .record({
    chainId: fc.stringMatching(/^[a-z0-9-]{1,64}$/),
    genesisTime: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    slotMs: fc.integer({ min: 50, max: 3_600_000 }),
    blockReward: fc.bigInt({ min: 0n, max: 100_000_000n }),
    minStake: fc.bigInt({ min: 1n, max: 2n ** 58n }),
    unbondingDelay: fc.integer({ min: 0, max: 10_000_000 }),
    maxBlockTxs: fc.integer({ min: 1, max: MAX_BLOCK_TXS_LIMIT }),
    maxBlockBytes: fc.integer({ min: 1024, max: MAX_BLOCK_BYTES_LIMIT }),
    accounts: fc.shuffledSubarray(ADDRESSES, { minLength: 1 }).chain((addresses) =>
      fc.tuple(
        ...addresses.map((address) =>
          fc.record({
            address: fc.constant(address),
            // 12 accounts × 2 amounts × 2^58 stays within the 2^63 supply limit.
            balance: fc.bigInt({ min: 0n, max: 2n ** 58n }),
            stake: fc.bigInt({ min: 0n, max: 2n ** 58n }),
          }),
        ),
      ),
    ),
  })
  .map((g) => {
    // Make the first account a validator so the genesis is always valid (and the supply still fits).
    const [first, ...rest] = g.accounts;
    return { ...g, accounts: [{ ...first!, stake: first!.stake + g.minStake }, ...rest] };
  });

function canonical(g: Genesis): Genesis {
  const accounts = [...g.accounts].sort((a, b) =>
    compareBytes(publicKeyFromAddress(a.address), publicKeyFromAddress(b.address)),
  );
  return { ...g, accounts };
}

describe("round trip", () => {
  it("parseGenesis(genesisToJson(g)) is g in canonical order, with the same hash", () => {
    fc.assert(
      fc.property(genesisArb, (g) => {
        const json: GenesisJson = genesisToJson(g);
        const back = parseGenesis(json);
        expect(back).toEqual(canonical(g));
        expect(parseGenesisJson(JSON.stringify(json))).toEqual(back);
        expect(genesisToJson(back)).toEqual(json);
        expect(genesisHash(back)).toEqual(genesisHash(g));
      }),
      { numRuns: 100 },
    );
  });

  it("writes the documented JSON shape", () => {
    const json = genesisToJson(parseGenesis(validJson()));
    expect(Object.keys(json)).toEqual(Object.keys(validJson()));
    expect(json.blockReward).toBe("10");
    expect(json.accounts.map((a) => Object.keys(a))).toEqual([
      ["address", "balance", "stake"],
      ["address", "balance", "stake"],
      ["address", "balance", "stake"],
    ]);
  });
});
