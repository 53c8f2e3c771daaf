import { addressFromPublicKey, devnetKeyPair, MAX_AMOUNT } from "@cardio/core";
import { describe, expect, it } from "vitest";
import { CliError } from "../../src/cli/cliError.js";
import {
  parseAddress,
  parseAmount,
  parseBpm,
  parseGenesisTime,
  parseNodeUrl,
  parseStakeList,
  parseU64,
} from "../../src/cli/parseInput.js";

function refusal(fn: () => unknown): CliError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    expect((err as CliError).message).not.toContain("\n");
    return err as CliError;
  }
  throw new Error("expected a refusal");
}

describe("parseBpm", () => {
  it.each([
    ["1", 1],
    ["72", 72],
    ["300", 300],
    [" 72 ", 72],
  ])("accepts %j", (text, bpm) => {
    expect(parseBpm(text)).toBe(bpm);
  });

  it.each(["0", "301", "72.5", "abc", "", "-72", "1e2", "0x48", "72bpm", "99999999999999999999", "Infinity"])(
    "refuses %j, naming the range and the input",
    (text) => {
      expect(refusal(() => parseBpm(text)).message).toBe(
        `BPM must be a whole number from 1 to 300, got ${JSON.stringify(text)}`,
      );
    },
  );
});

describe("amounts", () => {
  it("accepts 1 to 2^64-1 exactly, as BigInt", () => {
    expect(parseAmount("1")).toBe(1n);
    expect(parseAmount(MAX_AMOUNT.toString())).toBe(MAX_AMOUNT);
  });

  it.each([
    ["0", /at least 1/],
    ["-5", /cannot be negative/],
    ["1.5", /digits only/],
    ["1e3", /digits only/],
    ["ten", /digits only/],
    ["18446744073709551616", /at most 18446744073709551615/],
    ["9".repeat(100), /at most/],
  ])("refuses %j", (text, reason) => {
    expect(refusal(() => parseAmount(text)).message).toMatch(reason);
  });

  it("allows a zero fee but not a negative one", () => {
    expect(parseU64("0", "--fee")).toBe(0n);
    expect(refusal(() => parseU64("-1", "--fee")).message).toMatch(/^--fee cannot be negative/);
  });

  it("shortens huge input in messages", () => {
    expect(refusal(() => parseAmount("x".repeat(500))).message.length).toBeLessThan(150);
  });
});

describe("other inputs", () => {
  it("parses addresses and refuses anything else", () => {
    const address = addressFromPublicKey(devnetKeyPair("s", 0).publicKey);
    expect(addressFromPublicKey(parseAddress(address))).toBe(address);
    expect(refusal(() => parseAddress("12D3KooWnope")).message).toMatch(/must be a cardio address/);
    expect(refusal(() => parseAddress("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N")).message).toMatch(
      /Ed25519/,
    );
  });

  it("parses node URLs", () => {
    expect(parseNodeUrl("http://127.0.0.1:8645/")).toBe("http://127.0.0.1:8645");
    expect(refusal(() => parseNodeUrl("127.0.0.1:8645")).message).toMatch(/http/);
    expect(refusal(() => parseNodeUrl("ftp://x")).message).toMatch(/http/);
  });

  it("parses stake lists and genesis times", () => {
    expect(parseStakeList("100, 50,25")).toEqual([100n, 50n, 25n]);
    expect(() => parseStakeList("100,,25")).toThrow(CliError);
    expect(parseGenesisTime("+5s", 1000)).toBe(6000);
    expect(parseGenesisTime("+5", 1000)).toBe(6000);
    expect(parseGenesisTime("+500ms", 1000)).toBe(1500);
    expect(parseGenesisTime("1767225600000", 0)).toBe(1767225600000);
    expect(() => parseGenesisTime("tomorrow", 0)).toThrow(/--genesis-time/);
  });
});
