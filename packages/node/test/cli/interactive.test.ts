import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  addressFromPublicKey,
  createDevnet,
  devnetKeyPair,
  genesisToJson,
  validateGenesis,
} from "@cardio/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeKeyFile } from "../../src/cli/keyFile.js";
import { type CardioCommand, prepareCardio } from "./harness/cardioBinary.js";
import { type FakeNode, startFakeNode } from "./harness/fakeNode.js";
import { hasScript, startOnPty } from "./harness/pty.js";

const me = devnetKeyPair("pty-tests", 0);
const myAddress = addressFromPublicKey(me.publicKey);
const other = addressFromPublicKey(devnetKeyPair("pty-tests", 1).publicKey);

let cardio: CardioCommand;
let dir: string;
let node: FakeNode;
let keyFile: string;
const canRun = await hasScript();

beforeAll(async () => {
  cardio = await prepareCardio();
  dir = await mkdtemp(join(tmpdir(), "cardio-cli-pty-"));
  keyFile = join(dir, "me.key");
  await writeFile(keyFile, encodeKeyFile(me), { mode: 0o600 });
  node = await startFakeNode({ chainId: "cardio-pty" });
});
afterAll(async () => {
  await node?.close();
  await cardio?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!canRun)("cardio bpm in a terminal (through a pseudo-terminal)", () => {
  it("asks `Enter a new BPM:`, refuses bad readings with a reason, submits good ones, shows slot winners", async () => {
    const pty = startOnPty(cardio, ["bpm"], { CARDIO_KEY: keyFile, CARDIO_NODE: node.url });
    try {
      await pty.waitFor(/Enter a new BPM:/);
      pty.write("abc\r");
      await pty.waitFor(/BPM must be a whole number from 1 to 300, got "abc"\n[\s\S]*Enter a new BPM:/);
      pty.write("72.5\r");
      await pty.waitFor(/got "72\.5"\n[\s\S]*Enter a new BPM:/);
      pty.write("301\r");
      await pty.waitFor(/got "301"\n[\s\S]*Enter a new BPM:/);
      expect(node.txs).toHaveLength(0);

      pty.write("72\r");
      await pty.waitFor(/tx [0-9a-f]{64} submitted: bpm 72 \(nonce 0\)\n[\s\S]*Enter a new BPM:/);
      expect(node.txs.map((t) => t.kind === "bpm" && t.bpm)).toEqual([72]);

      // The winner of each slot, as the node announces it, printed above the prompt.
      await waitUntil(() => node.streams() > 0);
      const mark = pty.output().length;
      node.emit("slot", { slot: 42, winner: myAddress, forgedByUs: true });
      node.emit("slot", { slot: 43, winner: other, forgedByUs: false });
      node.emit("missedSlot", { slot: 43, winner: other });
      await pty.waitFor(/slot 42: winner 12D3KooW…\w{6} \(you\)\n/, { fromIndex: mark });
      await pty.waitFor(/slot 43: winner 12D3KooW…\w{6}\n/, { fromIndex: mark });
      await pty.waitFor(/slot 43: missed \(12D3KooW…\w{6} was silent\)\n[\s\S]*Enter a new BPM:/, {
        fromIndex: mark,
      });
      expect(pty.output()).toContain(`slot 42: winner ${myAddress.slice(0, 8)}…${myAddress.slice(-6)} (you)`);

      // The next reading takes the next nonce even while the first is pending at the node.
      node.postReplies.push({
        status: 409,
        body: {
          code: "MEMPOOL_REPLACEMENT_UNDERPRICED",
          message: "a transaction with nonce 0 is already pending",
        },
      });
      pty.write("80\r");
      await pty.waitFor(/submitted: bpm 80 \(nonce 1\)/);

      pty.write("\x04"); // Ctrl-D: end of input
      expect(await pty.exited).toBe(0);
    } finally {
      pty.kill();
    }
  });

  it("Ctrl-C ends the session with exit code 130", async () => {
    const pty = startOnPty(cardio, ["bpm", "--key", keyFile, "--node", node.url]);
    try {
      await pty.waitFor(/Enter a new BPM:/);
      pty.write("\x03");
      expect(await pty.exited).toBe(130);
    } finally {
      pty.kill();
    }
  });

  it("refuses --nonce, which cannot sign a series of readings", async () => {
    const pty = startOnPty(cardio, ["bpm", "--nonce", "3", "--key", keyFile, "--node", node.url]);
    expect(await pty.exited).toBe(2);
    expect(pty.output()).toMatch(/^error: --nonce applies to a single reading[^\n]*\n$/);
  });

  it("an unreachable node is one line before any question", async () => {
    const pty = startOnPty(cardio, ["bpm", "--key", keyFile, "--node", "http://127.0.0.1:9"]);
    expect(await pty.exited).toBe(1);
    expect(pty.output()).toBe("error: cannot reach node at http://127.0.0.1:9: is `cardio start` running?\n");
  });
});

describe.skipIf(!canRun)("cardio start in a terminal without --stake", () => {
  it("asks `Enter token balance:` as the tutorial did, refusing bad answers (Ctrl-C before the node starts)", async () => {
    const genesisFile = join(dir, "genesis.json");
    // The key is funded but not staked at genesis, so start asks how much to stake.
    const validator = addressFromPublicKey(devnetKeyPair("pty-tests", 5).publicKey);
    const genesis = genesisToJson(
      validateGenesis({
        ...createDevnet({ seed: "pty-tests", validators: 1, genesisTime: Date.now() + 60_000 }).genesis,
        accounts: [
          { address: validator, balance: 0n, stake: 100n },
          { address: myAddress, balance: 500n, stake: 0n },
        ],
      }),
    );
    await writeFile(genesisFile, JSON.stringify(genesis));
    const pty = startOnPty(cardio, [
      "start",
      "--key",
      keyFile,
      "--genesis",
      genesisFile,
      "--data-dir",
      join(dir, "d"),
    ]);
    try {
      await pty.waitFor(/balance at genesis: 500[\s\S]*Enter token balance:/);
      pty.write("lots\r");
      await pty.waitFor(
        /token balance must be a whole number of tokens \(digits only\), got "lots"\n[\s\S]*Enter token balance:/,
      );
      pty.write("-3\r");
      await pty.waitFor(/token balance cannot be negative, got "-3"\n[\s\S]*Enter token balance:/);
      pty.write("\x03");
      expect(await pty.exited).toBe(130);
    } finally {
      pty.kill();
    }
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
