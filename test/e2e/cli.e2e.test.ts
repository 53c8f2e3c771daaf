import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addressFromPublicKey } from "@cardio/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeKeyFile } from "../../packages/node/src/cli/keyFile.js";
import {
  type CardioCommand,
  prepareCardio,
  runCardio,
} from "../../packages/node/test/cli/harness/cardioBinary.js";
import { type CardioProcess, freePort, getJson, spawnCardio } from "../helpers/processes.js";
import { waitFor } from "../helpers/waitFor.js";

interface NodeProc {
  proc: CardioProcess;
  api: string;
  p2p: number;
  address: string;
}

type Status = { head: { height: number; hash: string }; peers: number };

describe("end to end: the real cardio binary", () => {
  let cardio: CardioCommand;
  let dir: string;
  const nodes: NodeProc[] = [];
  const all: CardioProcess[] = [];

  beforeAll(async () => {
    cardio = await prepareCardio();
    dir = await mkdtemp(join(tmpdir(), "cardio-e2e-"));
  });

  afterAll(async () => {
    for (const p of all)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    await Promise.all(all.map((p) => p.exited));
    await cardio?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  const status = async (n: NodeProc) => (await getJson(`${n.api}/status`))?.body as Status | undefined;

  const start = (i: number, bootstrap: string[]) => {
    const n = nodes[i]!;
    const proc = spawnCardio(cardio.argv, cardio.env, [
      "start",
      "--key",
      join(dir, `node-${i}.key`),
      "--genesis",
      join(dir, "genesis.json"),
      "--data-dir",
      join(dir, `data-${i}`),
      "--listen",
      `/ip4/127.0.0.1/tcp/${n.p2p}`,
      "--api",
      new URL(n.api).port,
      "--no-mdns",
      "--log-format",
      "json",
      ...(bootstrap.length > 0 ? ["--bootstrap", bootstrap.join(",")] : []),
    ]);
    all.push(proc);
    n.proc = proc;
    return proc;
  };

  it("runs a 3-node network: a BPM sent to one node shows in another's chain; kill -9 and restart loses nothing", async () => {
    const gen = await runCardio(cardio, [
      "genesis",
      "--validators",
      "3",
      "--stake",
      "100,50,25",
      "--slot-ms",
      "400",
      "--genesis-time",
      "+4s",
      "--seed",
      "e2e",
      "--out",
      dir,
    ]);
    expect(gen.code, gen.stderr).toBe(0);
    for (let i = 0; i < 3; i++) {
      const key = decodeKeyFile(await readFile(join(dir, `node-${i}.key`), "utf8"));
      nodes.push({
        proc: undefined as unknown as CardioProcess,
        api: `http://127.0.0.1:${await freePort()}`,
        p2p: await freePort(),
        address: addressFromPublicKey(key.publicKey),
      });
    }
    const bootstrap = nodes.map((n) => `/ip4/127.0.0.1/tcp/${n.p2p}/p2p/${n.address}`);
    for (let i = 0; i < 3; i++) start(i, bootstrap);

    await waitFor(
      async () => (await Promise.all(nodes.map(status))).every((s) => (s?.head.height ?? 0) >= 3),
      {
        timeoutMs: 40_000,
        what: "all three nodes at height 3",
      },
    );

    // BPM at node 1, read back from node 2's chain.
    const bpm = await runCardio(cardio, [
      "bpm",
      "72",
      "--key",
      join(dir, "node-1.key"),
      "--node",
      nodes[1]!.api,
      "--wait",
      "--json",
    ]);
    expect(bpm.code, bpm.stderr).toBe(0);
    const { id } = JSON.parse(bpm.stdout) as { id: string };
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    await waitFor(
      async () => {
        const chain = await runCardio(cardio, [
          "chain",
          "--node",
          nodes[2]!.api,
          "--from",
          "1",
          "--limit",
          "200",
          "--json",
        ]);
        if (chain.code !== 0) return false;
        const blocks = JSON.parse(chain.stdout) as Array<{
          txs: Array<{ id: string; kind: string; bpm?: number }>;
        }>;
        return blocks.some((b) => b.txs.some((t) => t.id === id && t.kind === "bpm" && t.bpm === 72));
      },
      { timeoutMs: 20_000, what: "the BPM reading in node 2's chain" },
    );

    // Node 2 accepts a transaction, then dies hard.
    const beforeKill = (await status(nodes[2]!))!.head.height;
    const tx = await runCardio(cardio, [
      "bpm",
      "99",
      "--key",
      join(dir, "node-2.key"),
      "--node",
      nodes[2]!.api,
      "--json",
    ]);
    expect(tx.code, tx.stderr).toBe(0);
    const acceptedId = (JSON.parse(tx.stdout) as { id: string }).id;
    nodes[2]!.proc.child.kill("SIGKILL");
    expect(await nodes[2]!.proc.exited).toBe("SIGKILL");

    // The others go on without it for a while.
    const others = nodes.slice(0, 2);
    await waitFor(
      async () =>
        (await Promise.all(others.map(status))).every((s) => (s?.head.height ?? 0) >= beforeKill + 5),
      {
        timeoutMs: 30_000,
        what: "the two survivors forging on",
      },
    );

    // Restart on the same data dir: it loads what it had from its own disk, then catches up.
    const restarted = start(2, bootstrap);
    await waitFor(() => /chain loaded from store/.test(restarted.output()), {
      timeoutMs: 20_000,
      what: "store load",
    });
    const loaded = restarted
      .output()
      .split("\n")
      .map((l) => {
        try {
          return JSON.parse(l) as { msg?: string; height?: number; replayed?: number };
        } catch {
          return {};
        }
      })
      .find((l) => l.msg === "chain loaded from store");
    expect(loaded?.height ?? 0).toBeGreaterThanOrEqual(beforeKill);

    await waitFor(
      async () => {
        const s = await Promise.all(nodes.map(status));
        const h = s.map((x) => x?.head.height ?? -1);
        return Math.min(...h) >= beforeKill + 8 && s.every((x) => x !== undefined);
      },
      { timeoutMs: 40_000, what: "node 2 catching up" },
    );
    // Same block at a height all share.
    const common = Math.min(...(await Promise.all(nodes.map(status))).map((s) => s!.head.height)) - 2;
    const hashes = await Promise.all(
      nodes.map(
        async (n) =>
          ((await getJson(`${n.api}/blocks/${common}`))?.body as { hash?: string } | undefined)?.hash,
      ),
    );
    expect(new Set(hashes).size).toBe(1);
    // The transaction node 2 accepted before dying is on the chain, exactly once.
    await waitFor(
      async () =>
        ((await getJson(`${nodes[0]!.api}/txs/${acceptedId}`))?.body as { status?: string })?.status ===
        "included",
      { timeoutMs: 20_000, what: "the accepted tx included" },
    );

    // A clean stop: SIGTERM, exit code 0.
    for (const n of nodes) n.proc.child.kill("SIGTERM");
    const codes = await Promise.all(nodes.map((n) => n.proc.exited));
    expect(codes).toEqual([0, 0, 0]);
  }, 180_000);
});
