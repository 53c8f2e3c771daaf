import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { addressFromPublicKey, createDevnet, DEVNET_WARNING, genesisToJson } from "@cardio/core";
import { writeKeyFile } from "../cli/keyFile.js";
import type { LogLevel } from "./startNode.js";

/** What `cardio devnet` hands over, with every flag parsed. */
export interface RunDevnetOptions {
  /** Number of validator nodes (processes). */
  nodes: number;
  /** Directory for genesis.json, key files and each node's data dir. */
  dir: string;
  /** Node i serves its API on basePort + i and listens for peers on basePort + 100 + i. */
  basePort: number;
  slotMs: number;
  /** Devnet key seed (public: keys are derived from it). */
  seed: string;
  logLevel: LogLevel;
  /** Start from a new genesis even if `dir` holds one. */
  fresh: boolean;
}

/**
 * How to start `cardio` again, as this process was started: the same entry file (the tsc build's
 * dist/bin/cardio.js, the esbuild bundle `npm start` runs, or the TypeScript source under tsx) and the
 * same Node flags (e.g. `--import tsx`), so the nodes run exactly the code the devnet runs. When this
 * code was not started as `cardio` (a test calling `runDevnet`), the tsc build's entry next to it.
 */
function selfCommand(): { bin: string; nodeArgs: string[] } {
  const main = process.argv[1];
  if (main !== undefined && /(^|[/\\])cardio(\.[cm]?[jt]s)?$/.test(main)) {
    // Debugger flags would make every node try to open the same inspector port.
    const nodeArgs = process.execArgv.filter(
      (a) => !a.startsWith("--inspect") && !a.startsWith("--max-semi-space-size"),
    );
    return { bin: main, nodeArgs };
  }
  return { bin: fileURLToPath(new URL("../bin/cardio.js", import.meta.url)), nodeArgs: [] };
}

/** Stakes of devnet validators, unequal so the lottery's weighting shows: 100, 50, 25, 10, then 10s. */
function devnetStakes(n: number): bigint[] {
  const base = [100n, 50n, 25n, 10n];
  return Array.from({ length: n }, (_, i) => base[i] ?? 10n);
}

const COLORS = [36, 33, 35, 32, 34, 31];

/**
 * Generates keys and a genesis (unless `dir` already holds them), runs `nodes` `cardio start`
 * processes with their log lines prefixed by node name, and resolves once Ctrl-C (or SIGTERM) has
 * stopped them all.
 */
export async function runDevnet(opts: RunDevnetOptions): Promise<void> {
  const dir = resolve(opts.dir);
  const genesisFile = join(dir, "genesis.json");
  const { genesis, keys } = createDevnet({
    seed: opts.seed,
    validators: opts.nodes,
    stakes: devnetStakes(opts.nodes),
    slotMs: opts.slotMs,
    // Slot 1, the first that can hold a block, starts 1.5 s from now: time for the nodes to start.
    genesisTime: Date.now() + 1500 - opts.slotMs,
  });
  const keyFile = (i: number) => join(dir, `node-${i}.key`);
  if (opts.fresh || !existsSync(genesisFile)) {
    await mkdir(dir, { recursive: true });
    if (opts.fresh) {
      const { rm } = await import("node:fs/promises");
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
    }
    await writeFile(genesisFile, `${JSON.stringify(genesisToJson(genesis), null, 2)}\n`);
    for (let i = 0; i < keys.length; i++) await writeKeyFile(keyFile(i), keys[i]!, { force: true });
    process.stderr.write(`${DEVNET_WARNING}\n`);
  }
  const p2pPort = (i: number) => opts.basePort + 100 + i;
  const bootstrap = keys
    .map((k, i) => `/ip4/127.0.0.1/tcp/${p2pPort(i)}/p2p/${addressFromPublicKey(k.publicKey)}`)
    .join(",");
  const { bin, nodeArgs } = selfCommand();
  const children: ChildProcess[] = [];
  const color = process.stdout.isTTY === true;
  for (let i = 0; i < opts.nodes; i++) {
    const name = `node-${i}`;
    const prefix = color
      ? `\x1b[${COLORS[i % COLORS.length]}m${name.padEnd(7)}\x1b[0m| `
      : `${name.padEnd(7)}| `;
    const child = spawn(
      process.execPath,
      [
        // A small young generation keeps an idle node's RSS well under 120 MB (measured: ~98 vs ~120).
        "--max-semi-space-size=1",
        ...nodeArgs,
        bin,
        "start",
        "--key",
        keyFile(i),
        "--genesis",
        genesisFile,
        "--data-dir",
        join(dir, `data-${i}`),
        "--listen",
        `/ip4/127.0.0.1/tcp/${p2pPort(i)}`,
        "--bootstrap",
        bootstrap,
        "--api",
        String(opts.basePort + i),
        "--log-level",
        opts.logLevel,
        "--log-format",
        "pretty",
      ],
      // Own process group: Ctrl-C reaches the devnet once, and it stops the nodes itself.
      {
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, ...(color ? { FORCE_COLOR: "1" } : {}) },
      },
    );
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on("line", (line) => process.stdout.write(`${prefix}${line}\n`));
    }
    children.push(child);
  }
  process.stdout.write(
    `devnet: ${opts.nodes} validators in ${dir}; APIs on http://127.0.0.1:${opts.basePort}..${opts.basePort + opts.nodes - 1}; Ctrl-C stops them all\n`,
  );
  const exited = children.map(
    (c) =>
      new Promise<number | null>((res) =>
        c.exitCode !== null ? res(c.exitCode) : c.once("exit", (code) => res(code)),
      ),
  );
  let stopping = false;
  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.kill(signal === "SIGINT" ? "SIGINT" : "SIGTERM");
  };
  process.once("SIGINT", () => stopAll("SIGINT"));
  process.once("SIGTERM", () => stopAll("SIGTERM"));
  // A node that dies on its own takes the devnet down with it rather than leaving a partial network.
  for (const [i, e] of exited.entries()) {
    void e.then((code) => {
      if (!stopping) {
        process.stdout.write(`node-${i} exited with code ${code}; stopping the devnet\n`);
        stopAll("SIGTERM");
      }
    });
  }
  const codes = await Promise.all(exited);
  process.stdout.write(`devnet stopped (exit codes ${codes.join(", ")})\n`);
  if (!stopping || codes.some((c) => c !== 0 && c !== null)) process.exitCode = 1;
}
