import { describe, expect, it } from "vitest";
import { addressFromPublicKey } from "../src/address.js";
import { toHex, utf8 } from "../src/bytes.js";
import {
  createDevnet,
  DEVNET_DEFAULTS,
  DEVNET_WARNING,
  devnetKeyPair,
  devnetKeySeed,
  MAX_DEVNET_VALIDATORS,
} from "../src/devnet.js";
import { genesisHash, genesisToJson, parseGenesis, parseGenesisJson } from "../src/genesis.js";
import { GenesisError, GenesisErrorCode } from "../src/genesisError.js";
import { sha256 } from "../src/hash.js";
import { keyPairFromSeed } from "../src/keys.js";

const GENESIS_TIME = 1_764_160_000_000;

function keyIds(keys: readonly { publicKey: Uint8Array; seed: Uint8Array }[]): string[] {
  return keys.map((k) => `${toHex(k.seed)}:${toHex(k.publicKey)}`);
}

describe("devnetKeySeed", () => {
  it("is sha256(tag ‖ seed ‖ u32be(index))", () => {
    const expected = sha256(
      new Uint8Array([...utf8("cardio/devnet-key"), ...utf8("alpha"), 0x00, 0x00, 0x01, 0x02]),
    );
    expect(devnetKeySeed("alpha", 258)).toEqual(expected);
    expect(devnetKeyPair("alpha", 258).publicKey).toEqual(keyPairFromSeed(expected).publicKey);
  });

  it("refuses an index outside u32", () => {
    expect(() => devnetKeySeed("alpha", -1)).toThrow(RangeError);
    expect(() => devnetKeySeed("alpha", 2 ** 32)).toThrow(RangeError);
    expect(() => devnetKeySeed("alpha", 1.5)).toThrow(RangeError);
  });
});

describe("createDevnet", () => {
  it("uses the documented defaults", () => {
    const { genesis, keys } = createDevnet({ seed: "s", validators: 3, genesisTime: GENESIS_TIME });
    expect(keys).toHaveLength(3);
    expect(genesis).toMatchObject({
      chainId: "cardio-devnet",
      genesisTime: GENESIS_TIME,
      slotMs: 1000,
      blockReward: 10n,
      minStake: 10n,
      unbondingDelay: 20,
      maxBlockTxs: 1000,
      maxBlockBytes: 1024 * 1024,
    });
    expect(genesis.accounts.map((a) => [a.balance, a.stake])).toEqual([
      [1000n, 100n],
      [1000n, 100n],
      [1000n, 100n],
    ]);
    expect(DEVNET_DEFAULTS.stake).toBe(100n);
  });

  it("is deterministic: the same options give the same keys and genesis", () => {
    const a = createDevnet({ seed: "same", validators: 4, genesisTime: GENESIS_TIME });
    const b = createDevnet({ seed: "same", validators: 4, genesisTime: GENESIS_TIME });
    expect(keyIds(a.keys)).toEqual(keyIds(b.keys));
    expect(a.genesis).toEqual(b.genesis);
    expect(genesisHash(a.genesis)).toEqual(genesisHash(b.genesis));
  });

  it("gives different keys and genesis for a different seed", () => {
    const a = createDevnet({ seed: "one", validators: 4, genesisTime: GENESIS_TIME });
    const b = createDevnet({ seed: "two", validators: 4, genesisTime: GENESIS_TIME });
    const shared = keyIds(a.keys).filter((id) => keyIds(b.keys).includes(id));
    expect(shared).toEqual([]);
    expect(genesisHash(a.genesis)).not.toEqual(genesisHash(b.genesis));
  });

  it("derives distinct keys per validator, and a bigger devnet extends a smaller one", () => {
    const small = createDevnet({ seed: "grow", validators: 2, genesisTime: GENESIS_TIME });
    const big = createDevnet({ seed: "grow", validators: 5, genesisTime: GENESIS_TIME });
    expect(new Set(keyIds(big.keys)).size).toBe(5);
    expect(keyIds(big.keys).slice(0, 2)).toEqual(keyIds(small.keys));
  });

  it("gives validator i its stake and every validator the balance", () => {
    const stakes = [500n, 0n, 10n, 7n];
    const { genesis, keys } = createDevnet({
      seed: "stakes",
      validators: 4,
      stakes,
      balance: 42n,
      genesisTime: GENESIS_TIME,
    });
    keys.forEach((key, i) => {
      const account = genesis.accounts.find((a) => a.address === addressFromPublicKey(key.publicKey));
      expect(account).toEqual({
        address: addressFromPublicKey(key.publicKey),
        balance: 42n,
        stake: stakes[i],
      });
    });
  });

  it("honours every genesis option", () => {
    const { genesis } = createDevnet({
      seed: "opts",
      validators: 1,
      genesisTime: 5,
      chainId: "local-7",
      slotMs: 250,
      blockReward: 3n,
      minStake: 50n,
      unbondingDelay: 0,
      maxBlockTxs: 5,
      maxBlockBytes: 4096,
    });
    expect(genesis).toMatchObject({
      chainId: "local-7",
      genesisTime: 5,
      slotMs: 250,
      blockReward: 3n,
      minStake: 50n,
      unbondingDelay: 0,
      maxBlockTxs: 5,
      maxBlockBytes: 4096,
    });
  });

  it("makes a genesis that survives genesisToJson → JSON text → parseGenesis", () => {
    const { genesis } = createDevnet({ seed: "json", validators: 6, genesisTime: GENESIS_TIME });
    const json = genesisToJson(genesis);
    expect(parseGenesis(json)).toEqual(genesis);
    expect(parseGenesisJson(JSON.stringify(json))).toEqual(genesis);
  });

  it("refuses malformed options", () => {
    const base = { seed: "bad", genesisTime: GENESIS_TIME };
    expect(() => createDevnet({ ...base, validators: 0 })).toThrow(RangeError);
    expect(() => createDevnet({ ...base, validators: 1.5 })).toThrow(RangeError);
    expect(() => createDevnet({ ...base, validators: MAX_DEVNET_VALIDATORS + 1 })).toThrow(RangeError);
    expect(() => createDevnet({ ...base, validators: 2, stakes: [100n] })).toThrow(RangeError);
  });

  it("reports an invalid resulting genesis as a GenesisError", () => {
    const cases: [Parameters<typeof createDevnet>[0], GenesisErrorCode, string][] = [
      [
        { seed: "g", validators: 2, stakes: [1n, 0n], genesisTime: 0 },
        GenesisErrorCode.NO_VALIDATORS,
        "accounts",
      ],
      [
        { seed: "g", validators: 2, stakes: [100n, -1n], genesisTime: 0 },
        GenesisErrorCode.INVALID_FIELD,
        "accounts[1].stake",
      ],
      [{ seed: "g", validators: 1, genesisTime: -1 }, GenesisErrorCode.INVALID_FIELD, "genesisTime"],
      [
        { seed: "g", validators: 1, genesisTime: 0, chainId: "Dev" },
        GenesisErrorCode.INVALID_FIELD,
        "chainId",
      ],
      [{ seed: "g", validators: 1, genesisTime: 0, slotMs: 10 }, GenesisErrorCode.INVALID_FIELD, "slotMs"],
    ];
    for (const [options, code, path] of cases) {
      let caught: unknown;
      try {
        createDevnet(options);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(GenesisError);
      expect({ code: (caught as GenesisError).code, path: (caught as GenesisError).meta.path }).toEqual({
        code,
        path,
      });
    }
  });

  it("says loudly that its keys are unsafe", () => {
    expect(DEVNET_WARNING).toMatch(/^UNSAFE/);
    expect(DEVNET_WARNING).toContain("public seed");
  });
});
