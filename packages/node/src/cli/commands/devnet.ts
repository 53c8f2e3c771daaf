import { MAX_SLOT_MS, MIN_SLOT_MS } from "@cardio/core";
import type { Command } from "commander";
import type { RunDevnetOptions } from "../../run/devnet.js";
import type { LogLevel } from "../../run/startNode.js";
import { argParser, logLevelOption, option } from "../options.js";
import { parseInteger } from "../parseInput.js";
import { DEFAULT_API_PORT } from "./start.js";

/** Most nodes `cardio devnet` runs on one machine (each is a process of ~100 MB). */
export const MAX_DEVNET_NODES = 64;

/** Options of `cardio devnet`, as commander parses them. */
export interface DevnetCommandOptions {
  nodes: number;
  dir: string;
  basePort: number;
  slotMs: number;
  seed: string;
  logLevel: LogLevel;
  fresh?: boolean;
}

/** `cardio devnet`: hands the parsed flags to `runDevnet`, which runs the nodes until Ctrl-C. */
export async function devnetCommand(opts: DevnetCommandOptions): Promise<void> {
  const runOptions: RunDevnetOptions = {
    nodes: opts.nodes,
    dir: opts.dir,
    basePort: opts.basePort,
    slotMs: opts.slotMs,
    seed: opts.seed,
    logLevel: opts.logLevel,
    fresh: opts.fresh === true,
  };
  // Loaded on demand, like `start`: only this command needs the process launcher.
  const { runDevnet } = await import("../../run/devnet.js");
  await runDevnet(runOptions);
}

/** Registers `cardio devnet`. */
export function registerDevnet(program: Command): void {
  program
    .command("devnet")
    .description("generate keys and a genesis, and run N validator nodes on this machine until Ctrl-C")
    .addOption(
      option("--nodes <n>", "number of validator nodes")
        .default(4)
        .argParser(argParser((t) => parseInteger(t, "--nodes", 1, MAX_DEVNET_NODES))),
    )
    .addOption(option("--dir <dir>", "directory for the genesis, keys and data dirs").default("./devnet"))
    .addOption(
      option(
        "--base-port <port>",
        "node i serves its HTTP API on base-port + i and listens for peers on base-port + 100 + i",
      )
        .default(DEFAULT_API_PORT)
        .argParser(argParser((t) => parseInteger(t, "--base-port", 1, 65_535 - 100 - MAX_DEVNET_NODES))),
    )
    .addOption(
      option("--slot-ms <ms>", "slot length in milliseconds")
        .default(1000)
        .argParser(argParser((t) => parseInteger(t, "--slot-ms", MIN_SLOT_MS, MAX_SLOT_MS))),
    )
    .addOption(
      option("--seed <seed>", "seed the devnet keys derive from (public: development only)").default(
        "cardio-devnet",
      ),
    )
    .addOption(logLevelOption())
    .addOption(option("--fresh", "start a new chain even if --dir holds one"))
    .action(devnetCommand);
}
