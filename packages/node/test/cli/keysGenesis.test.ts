import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addressFromPublicKey, createDevnet, DEVNET_WARNING, parseGenesisJson } from "@cardio/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeKeyFile } from "../../src/cli/keyFile.js";
import { type CardioCommand, isOneLineError, prepareCardio, runCardio } from "./harness/cardioBinary.js";

let cardio: CardioCommand;
let dir: string;
const run = (args: string[], env?: Record<string, string>) => runCardio(cardio, args, { cwd: dir, env });

beforeAll(async () => {
  cardio = await prepareCardio();
  dir = await mkdtemp(join(tmpdir(), "cardio-cli-keys-"));
});
afterAll(async () => {
  await cardio.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function addressOf(file: string): Promise<string> {
  return addressFromPublicKey(decodeKeyFile(await readFile(file, "utf8")).publicKey);
}

describe("cardio keys", () => {
  it("keys new writes ./cardio.key with mode 0600, prints the address and where it wrote", async () => {
    const r = await run(["keys", "new"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const file = join(dir, "cardio.key");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const address = await addressOf(file);
    expect(r.stdout).toContain(address);
    expect(r.stdout).toContain("./cardio.key");
  });

  it("keys new --out refuses an existing file unless --force, and never prints the private key", async () => {
    const file = join(dir, "v.key");
    const first = await run(["keys", "new", "--out", file]);
    expect(first.code).toBe(0);
    const before = await readFile(file, "utf8");
    expect(first.stdout).not.toContain(before.trim());
    expect(first.stdout).not.toContain("key file");

    const again = await run(["keys", "new", "--out", file]);
    expect(again.code).not.toBe(0);
    expect(isOneLineError(again.stderr)).toBe(true);
    expect(again.stderr).toMatch(/already exists.*--force/);
    expect(await readFile(file, "utf8")).toBe(before);

    const forced = await run(["keys", "new", "--out", file, "--force"]);
    expect(forced.code).toBe(0);
    expect(await readFile(file, "utf8")).not.toBe(before);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it("keys show prints the address and public key only; --key also comes from CARDIO_KEY", async () => {
    const file = join(dir, "show.key");
    await run(["keys", "new", "--out", file]);
    const secret = (await readFile(file, "utf8")).trim();
    const address = await addressOf(file);
    const byFlag = await run(["keys", "show", "--key", file]);
    expect(byFlag.code).toBe(0);
    expect(byFlag.stdout).toContain(address);
    expect(byFlag.stdout).toMatch(/public key +[0-9a-f]{64}\n/);
    expect(byFlag.stdout).not.toContain(secret);
    const byEnv = await run(["keys", "show", "--json"], { CARDIO_KEY: file });
    expect(byEnv.code).toBe(0);
    expect(JSON.parse(byEnv.stdout)).toEqual({ address, publicKey: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it("keys show refuses a key file readable by others, a missing file and a corrupt one", async () => {
    const file = join(dir, "open.key");
    await run(["keys", "new", "--out", file]);
    await chmod(file, 0o644);
    const open = await run(["keys", "show", "--key", file]);
    expect(open.code).not.toBe(0);
    expect(isOneLineError(open.stderr)).toBe(true);
    expect(open.stderr).toContain("chmod 600");

    const missing = await run(["keys", "show", "--key", join(dir, "nope.key")]);
    expect(missing.code).not.toBe(0);
    expect(isOneLineError(missing.stderr)).toBe(true);
    expect(missing.stderr).toMatch(/does not exist/);

    const corrupt = join(dir, "corrupt.key");
    await writeFile(corrupt, "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n", { mode: 0o600 });
    const bad = await run(["keys", "show", "--key", corrupt]);
    expect(bad.code).not.toBe(0);
    expect(isOneLineError(bad.stderr)).toBe(true);
    expect(bad.stderr).toMatch(/not a cardio key file/);
    expect(bad.stderr).not.toContain("OPENSSH");
  });
});

describe("cardio genesis", () => {
  it("with --seed writes the devnet of createDevnet, warns, and every file checks out", async () => {
    const out = join(dir, "seeded");
    const r = await run([
      "genesis",
      "--validators",
      "3",
      "--stake",
      "100,50,25",
      "--balance",
      "500",
      "--slot-ms",
      "250",
      "--chain-id",
      "cardio-x",
      "--genesis-time",
      "1767225600000",
      "--seed",
      "test-seed",
      "--out",
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(DEVNET_WARNING);
    expect((await readdir(out)).sort()).toEqual(["genesis.json", "node-0.key", "node-1.key", "node-2.key"]);
    const genesis = parseGenesisJson(await readFile(join(out, "genesis.json"), "utf8"));
    const expected = createDevnet({
      seed: "test-seed",
      validators: 3,
      stakes: [100n, 50n, 25n],
      balance: 500n,
      slotMs: 250,
      chainId: "cardio-x",
      genesisTime: 1767225600000,
    });
    expect(genesis).toEqual(expected.genesis);
    for (let i = 0; i < 3; i++) {
      const file = join(out, `node-${i}.key`);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await addressOf(file)).toBe(addressFromPublicKey(expected.keys[i]!.publicKey));
      expect(r.stdout).toContain(`node-${i}.key`);
    }
  });

  it("without --seed uses fresh random keys and a genesis time about 5 s ahead", async () => {
    const a = join(dir, "random-a");
    const b = join(dir, "random-b");
    const before = Date.now();
    expect((await run(["genesis", "--validators", "2", "--out", a])).code).toBe(0);
    expect((await run(["genesis", "--validators", "2", "--out", b])).code).toBe(0);
    const ga = parseGenesisJson(await readFile(join(a, "genesis.json"), "utf8"));
    const gb = parseGenesisJson(await readFile(join(b, "genesis.json"), "utf8"));
    expect(ga.accounts.map((x) => x.address)).not.toEqual(gb.accounts.map((x) => x.address));
    expect(ga.genesisTime).toBeGreaterThanOrEqual(before + 5000);
    expect(ga.genesisTime).toBeLessThan(Date.now() + 5000 + 100);
    const keyed = [await addressOf(join(a, "node-0.key")), await addressOf(join(a, "node-1.key"))].sort();
    expect(ga.accounts.map((x) => x.address).sort()).toEqual(keyed);
    expect(ga.accounts.every((x) => x.stake === 100n && x.balance === 1000n)).toBe(true);
  });

  it("refuses to overwrite an existing genesis unless --force, leaving the files as they were", async () => {
    const out = join(dir, "twice");
    expect((await run(["genesis", "--validators", "1", "--out", out, "--seed", "s"])).code).toBe(0);
    const before = await readFile(join(out, "genesis.json"), "utf8");
    const again = await run(["genesis", "--validators", "2", "--out", out]);
    expect(again.code).not.toBe(0);
    expect(isOneLineError(again.stderr)).toBe(true);
    expect(await readFile(join(out, "genesis.json"), "utf8")).toBe(before);
    expect(await readdir(out)).not.toContain("node-1.key");
    const forced = await run(["genesis", "--validators", "2", "--out", out, "--force"]);
    expect(forced.code).toBe(0);
  });

  // OUT stands for a fresh directory that must still not exist afterwards.
  it.each([
    [["--validators", "0", "--out", "OUT"], /--validators/],
    [["--validators", "3", "--stake", "1,2", "--out", "OUT"], /2 stakes for 3 validators/],
    [["--validators", "2", "--stake", "5", "--seed", "x", "--out", "OUT"], /invalid genesis/],
    [["--validators", "2", "--chain-id", "Not Valid", "--out", "OUT"], /invalid genesis/],
    [["--validators", "2", "--genesis-time", "soon", "--out", "OUT"], /--genesis-time/],
    [["--validators", "2", "--slot-ms", "10", "--out", "OUT"], /--slot-ms/],
    [["--validators", "2"], /--out/],
  ])("refuses %j with one line and writes nothing", async (args, reason) => {
    const out = join(dir, `bad-${Math.random().toString(36).slice(2)}`);
    const r = await run(["genesis", ...args.map((a) => (a === "OUT" ? out : a))]);
    expect(r.code).not.toBe(0);
    expect(isOneLineError(r.stderr)).toBe(true);
    expect(r.stderr).toMatch(reason);
    await expect(stat(out)).rejects.toThrow();
  });
});
