import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addressFromPublicKey, createDevnet, devnetKeyPair, genesisToJson } from "@cardio/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { encodeKeyFile } from "../../src/cli/keyFile.js";
import { envName } from "../../src/cli/options.js";
import {
  type CardioCommand,
  isOneLineError,
  prepareCardio,
  type RunResult,
  runCardio,
} from "./harness/cardioBinary.js";
import { closedPort, type FakeNode, startFakeNode } from "./harness/fakeNode.js";

let cardio: CardioCommand;
let dir: string;
let node: FakeNode;
let keyFile: string;
const other = addressFromPublicKey(devnetKeyPair("usage", 1).publicKey);

beforeAll(async () => {
  cardio = await prepareCardio();
  dir = await mkdtemp(join(tmpdir(), "cardio-cli-usage-"));
  keyFile = join(dir, "k.key");
  await writeFile(keyFile, encodeKeyFile(devnetKeyPair("usage", 0)), { mode: 0o600 });
  node = await startFakeNode();
});
afterAll(async () => {
  await node.close();
  await cardio.cleanup();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  node.requests.length = 0;
});

const run = (args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
  runCardio(cardio, args, { cwd: dir, env });

/** A user error: non-zero exit, one line `error: …` on stderr, nothing on stdout. */
function expectUserError(r: RunResult, reason: RegExp | string): void {
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.stderr).toMatch(reason);
  expect(isOneLineError(r.stderr), r.stderr).toBe(true);
  expect(r.stdout).toBe("");
}

const COMMANDS = [
  [],
  ["keys"],
  ["keys", "new"],
  ["keys", "show"],
  ["genesis"],
  ["start"],
  ["stake"],
  ["unstake"],
  ["transfer"],
  ["bpm"],
  ["status"],
  ["chain"],
  ["devnet"],
];

describe("help", () => {
  it.each(COMMANDS)("cardio %s --help exits 0, and names the variable of every flag", async (...cmd) => {
    const r = await run([...cmd, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: cardio/);
    const options = r.stdout.split("Options:")[1]!.split("Commands:")[0]!;
    const flags = new Set(options.match(/--[a-z][a-z-]+/g) ?? []);
    flags.delete("--help");
    flags.delete("--version");
    for (const flag of flags) {
      // Help wraps lines: compare with whitespace removed.
      expect(r.stdout.replace(/\s+/g, ""), `${flag} in ${cmd.join(" ")}`).toContain(`env:${envName(flag)}`);
    }
  });

  it("prints the version", async () => {
    const r = await run(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("bad input: one line, non-zero, nothing sent", () => {
  const base = () => ["--key", keyFile, "--node", node.url];
  it.each([
    [["bpm", "0"], 'BPM must be a whole number from 1 to 300, got "0"'],
    [["bpm", "301"], 'BPM must be a whole number from 1 to 300, got "301"'],
    [["bpm", "72.5"], 'BPM must be a whole number from 1 to 300, got "72.5"'],
    [["bpm", "abc"], 'BPM must be a whole number from 1 to 300, got "abc"'],
    [["bpm", "-1"], /BPM must be a whole number/],
    [["stake", "0"], /amount must be at least 1/],
    [["stake", "-5"], 'amount cannot be negative, got "-5"'],
    [["stake", "1.5"], /amount must be a whole number/],
    [["stake", "ten"], /amount must be a whole number/],
    [["stake", "18446744073709551616"], /amount must be at most 18446744073709551615/],
    [["unstake", "99999999999999999999999"], /amount must be at most/],
    [["transfer", "12D3KooWbogus", "5"], /recipient must be a cardio address/],
    [["transfer", other, "-1"], /amount cannot be negative/],
    [["transfer", other, "abc"], /amount must be a whole number/],
    [["transfer", other], /missing required argument 'amount'/],
    [["stake", "5", "--fee", "-1"], /--fee cannot be negative/],
    [["stake", "5", "--nonce", "x"], /nonce must be a whole number/],
    [["stake", "5", "extra"], /too many arguments|excess/],
    [["bpm"], /^error: bpm value required/],
  ])("cardio %j", async (args, reason) => {
    const r = await run([...args, ...base()]);
    expectUserError(r, reason);
    expect(node.requests).toEqual([]);
  });

  it("a missing key file", async () => {
    const r = await run(["stake", "5", "--key", join(dir, "none.key"), "--node", node.url]);
    expectUserError(r, /key file .*none\.key does not exist/);
    expect(node.requests).toEqual([]);
  });

  it("a key file others can read", async () => {
    const open = join(dir, "open.key");
    await writeFile(open, encodeKeyFile(devnetKeyPair("usage", 2)), { mode: 0o600 });
    await chmod(open, 0o644);
    const r = await run(["bpm", "72", "--key", open, "--node", node.url]);
    expectUserError(r, /accessible by group or others \(mode 0644\)/);
    expect(node.requests).toEqual([]);
  });

  it("a bad value from an environment variable names the variable", async () => {
    const r = await run(["stake", "5", "--key", keyFile, "--node", node.url], { CARDIO_FEE: "lots" });
    expectUserError(r, /CARDIO_FEE/);
    const url = await run(["status"], { CARDIO_NODE: "localhost:8645" });
    expectUserError(url, /CARDIO_NODE.*--node must be/);
    expect(node.requests).toEqual([]);
  });

  it("boolean flags read their variable too, and CARDIO_X=0 means off", async () => {
    const on = await run(["keys", "show", "--key", keyFile], { CARDIO_JSON: "1" });
    expect(JSON.parse(on.stdout)).toMatchObject({ address: expect.stringMatching(/^12D3KooW/) });
    const off = await run(["keys", "show", "--key", keyFile], { CARDIO_JSON: "0" });
    expect(off.stdout).toMatch(/^address +12D3KooW/);
  });

  it("unknown commands and options are one line too", async () => {
    expectUserError(await run(["stak", "5"]), /unknown command 'stak'.*stake/);
    expectUserError(await run(["status", "--nod", node.url]), /unknown option '--nod'/);
  });
});

describe("errors and --debug", () => {
  it("shows a stack only with --debug or CARDIO_DEBUG=1", async () => {
    const plain = await run(["keys", "show", "--key", "none.key"]);
    expectUserError(plain, /does not exist/);
    for (const r of [
      await run(["keys", "show", "--key", "none.key", "--debug"]),
      await run(["keys", "show", "--key", "none.key"], { CARDIO_DEBUG: "1" }),
    ]) {
      expect(r.code).not.toBe(0);
      expect(r.stderr.split("\n")[0]).toBe(plain.stderr.trim());
      expect(r.stderr).toMatch(/\n\s*at /);
    }
    const off = await run(["keys", "show", "--key", "none.key"], { CARDIO_DEBUG: "0" });
    expect(isOneLineError(off.stderr)).toBe(true);
  });

  it.each([["status"], ["chain"], ["stake", "5", "--key", "KEY"], ["bpm", "72", "--key", "KEY"]])(
    "cardio %j says when the node is unreachable",
    async (...args) => {
      const url = `http://127.0.0.1:${await closedPort()}`;
      const r = await run([...args.map((a) => (a === "KEY" ? keyFile : a)), "--node", url]);
      expectUserError(r, `error: cannot reach node at ${url}: is \`cardio start\` running?`);
    },
  );
});

describe("start and devnet refuse bad flags before starting anything", () => {
  let genesisFile: string;
  beforeAll(async () => {
    genesisFile = join(dir, "genesis.json");
    const { genesis } = createDevnet({ seed: "usage", validators: 1, genesisTime: 0 });
    await writeFile(genesisFile, JSON.stringify(genesisToJson(genesis)));
  });
  const ok = () => ["--key", keyFile, "--genesis", genesisFile, "--data-dir", join(dir, "data")];

  it.each([
    [["--api", "70000"], /--api must be a whole number from 0 to 65535/],
    [["--api", "http"], /--api/],
    [["--listen", "localhost:4001"], /--listen must be a multiaddr/],
    [["--bootstrap", "/ip4/127.0.0.1/tcp/4001"], /names no peer/],
    [["--log-level", "loud"], /--log-level must be one of/],
    [["--log-format", "xml"], /--log-format must be one of json, pretty/],
    [["--stake", "-1"], /--stake cannot be negative/],
  ])("cardio start %j", async (args, reason) => {
    expectUserError(await run(["start", ...ok(), ...args]), reason);
  });

  it("reads start flags from CARDIO_* variables", async () => {
    expectUserError(await run(["start", ...ok()], { CARDIO_API: "http" }), /CARDIO_API/);
    expectUserError(await run(["start", ...ok()], { CARDIO_LOG_LEVEL: "loud" }), /CARDIO_LOG_LEVEL/);
  });

  it("a missing genesis or key file", async () => {
    expectUserError(
      await run(["start", "--key", keyFile, "--genesis", join(dir, "none.json")]),
      /genesis file .*none\.json does not exist/,
    );
    expectUserError(
      await run(["start", "--genesis", genesisFile], { CARDIO_KEY: "nope.key" }),
      /nope\.key does not exist/,
    );
  });

  it("an invalid genesis names the field", async () => {
    const bad = join(dir, "bad-genesis.json");
    await writeFile(
      bad,
      JSON.stringify({
        ...genesisToJson(createDevnet({ seed: "u", validators: 1, genesisTime: 0 }).genesis),
        slotMs: 1,
      }),
    );
    expectUserError(await run(["start", "--key", keyFile, "--genesis", bad]), /genesis file .*slotMs/);
  });

  it.each([
    [["--nodes", "0"], /--nodes/],
    [["--nodes", "65"], /--nodes/],
    [["--slot-ms", "5"], /--slot-ms/],
    [["--base-port", "65535"], /--base-port/],
  ])("cardio devnet %j", async (args, reason) => {
    expectUserError(await run(["devnet", ...args]), reason);
  });
});
