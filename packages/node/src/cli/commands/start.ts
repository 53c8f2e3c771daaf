import { addressFromPublicKey, type Genesis, type KeyPair } from "@cardio/core";
import type { Command } from "commander";
import type { LogLevel, StartNodeOptions } from "../../run/startNode.js";
import { CliError, ExitCode, inputError } from "../cliError.js";
import { readGenesisFile } from "../genesisFile.js";
import { readKeyFile } from "../keyFile.js";
import { argParser, DEFAULT_KEY_FILE, keyOption, logLevelOption, option } from "../options.js";
import { note } from "../output.js";
import { parseChoice, parseInteger, parseU64, quote, splitList } from "../parseInput.js";
import { isInteractive, Prompter } from "../prompt.js";

/** Where a node listens for peers unless told: loopback, any free port (safe on a laptop). */
export const DEFAULT_LISTEN = "/ip4/127.0.0.1/tcp/0";
/** Default HTTP API port; the CLI's `--node` default points here. */
export const DEFAULT_API_PORT = 8645;
/** Default HTTP API host: loopback, so the API is not exposed unless asked. */
export const DEFAULT_API_HOST = "127.0.0.1";
/** Default store directory. */
export const DEFAULT_DATA_DIR = "./cardio-data";
/** Default genesis file. */
export const DEFAULT_GENESIS_FILE = "./genesis.json";
/** The tutorial's question. */
export const STAKE_QUESTION = "Enter token balance: ";

/** Options of `cardio start`, as commander parses them. */
export interface StartCommandOptions {
  key: string;
  genesis: string;
  dataDir: string;
  listen?: string[];
  bootstrap?: string[];
  api: number;
  apiHost: string;
  stake?: bigint;
  mdns: boolean;
  logLevel: LogLevel;
  logFormat?: "json" | "pretty";
  announce?: string[];
  clockOffsetMs?: number;
}

/**
 * `cardio start`: checks the flags, reads the key and the genesis (one-line errors for each),
 * asks `Enter token balance:` in a terminal when the key has no stake yet and no `--stake` was
 * given, then runs the node until Ctrl-C.
 */
export async function startCommand(opts: StartCommandOptions): Promise<void> {
  const listen = opts.listen ?? [DEFAULT_LISTEN];
  const bootstrap = opts.bootstrap ?? [];
  await checkMultiaddrs(listen, "--listen", false);
  await checkMultiaddrs(bootstrap, "--bootstrap", true);
  await checkMultiaddrs(opts.announce ?? [], "--announce", false);
  const key = await readKeyFile(opts.key);
  const genesis = await readGenesisFile(opts.genesis);

  let stake = opts.stake;
  if (stake === undefined && isInteractive() && !stakedAtGenesis(genesis, key))
    stake = await askStake(genesis, key);

  const nodeOptions: StartNodeOptions = {
    key,
    keyFile: opts.key,
    genesis,
    genesisFile: opts.genesis,
    dataDir: opts.dataDir,
    listen,
    bootstrap,
    apiPort: opts.api,
    apiHost: opts.apiHost,
    stake,
    mdns: opts.mdns,
    logLevel: opts.logLevel,
    logFormat: opts.logFormat,
    announce: opts.announce ?? [],
    clockOffsetMs: opts.clockOffsetMs ?? 0,
  };
  // Loaded on demand: libp2p and the store take a while to import, and no other command needs them.
  const { startNode } = await import("../../run/startNode.js");
  await startNode(nodeOptions);
}

function stakedAtGenesis(genesis: Genesis, key: KeyPair): boolean {
  const address = addressFromPublicKey(key.publicKey);
  return genesis.accounts.some((a) => a.address === address && a.stake > 0n);
}

/** The tutorial's `Enter token balance:`; 0 or Ctrl-D means do not stake. */
async function askStake(genesis: Genesis, key: KeyPair): Promise<bigint | undefined> {
  const address = addressFromPublicKey(key.publicKey);
  const balance = genesis.accounts.find((a) => a.address === address)?.balance;
  note(
    `how many tokens should ${address} stake to become a validator? ` +
      `(balance at genesis: ${balance ?? 0n}, least stake: ${genesis.minStake}; 0 for none)`,
  );
  const prompter = new Prompter(process.stdin, process.stderr);
  let interrupted = false;
  prompter.onInterrupt(() => {
    interrupted = true;
    prompter.close();
  });
  try {
    const stake = await prompter.askValid(STAKE_QUESTION, (t) => parseU64(t, "token balance"));
    if (interrupted) throw new CliError("INTERRUPTED", "interrupted", { exitCode: ExitCode.INTERRUPTED });
    return stake === undefined || stake === 0n ? undefined : stake;
  } finally {
    prompter.close();
  }
}

/** Checks every address parses as a multiaddr (and, for peers, names the peer) before starting. */
async function checkMultiaddrs(addrs: string[], flag: string, needPeerId: boolean): Promise<void> {
  if (addrs.length === 0) return;
  const { multiaddr } = await import("@multiformats/multiaddr");
  for (const a of addrs) {
    let peerId: string | null;
    try {
      peerId = multiaddr(a).getPeerId();
    } catch {
      throw inputError(`${flag} must be a multiaddr such as ${DEFAULT_LISTEN}, got ${quote(a)}`);
    }
    if (needPeerId && peerId === null) {
      throw inputError(`${flag} ${quote(a)} names no peer: end it with /p2p/<peer id>`);
    }
  }
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...splitList(value)];
}

/** Registers `cardio start`. */
export function registerStart(program: Command): void {
  program
    .command("start")
    .description(
      "run a validator node; in a terminal without --stake, asks `Enter token balance:` as the tutorial did",
    )
    .addOption(keyOption(`the node's key file (its peer id and validator key; default ${DEFAULT_KEY_FILE})`))
    .addOption(option("--genesis <file>", "genesis file of the chain to join").default(DEFAULT_GENESIS_FILE))
    .addOption(option("--data-dir <dir>", "where the node keeps its chain").default(DEFAULT_DATA_DIR))
    .addOption(
      option(
        "--listen <multiaddr>",
        `libp2p listen address, repeatable or comma-separated (default ${DEFAULT_LISTEN})`,
      ).argParser(collect),
    )
    .addOption(
      option(
        "--bootstrap <multiaddr>",
        "peer to dial at start (/ip4/…/tcp/…/p2p/<id>), repeatable or comma-separated",
      ).argParser(collect),
    )
    .addOption(
      option("--api <port>", "HTTP API port (0: any free port)")
        .default(DEFAULT_API_PORT)
        .argParser(argParser((t) => parseInteger(t, "--api", 0, 65_535))),
    )
    .addOption(option("--api-host <host>", "HTTP API address to listen on").default(DEFAULT_API_HOST))
    .addOption(
      option("--stake <n>", "bond up to this many tokens once synced, unless already bonded").argParser(
        argParser((t) => parseU64(t, "--stake")),
      ),
    )
    .addOption(
      option(
        "--announce <multiaddr>",
        "address to tell peers instead of the listen addresses (e.g. behind NAT), repeatable or comma-separated",
      ).argParser(collect),
    )
    .addOption(option("--no-mdns", "do not discover peers on the local network by mDNS"))
    .addOption(
      option("--clock-offset-ms <ms>", "shift this node's clock (fault testing only; default 0)").argParser(
        argParser((t) => parseInteger(t, "--clock-offset-ms", -3_600_000, 3_600_000)),
      ),
    )
    .addOption(logLevelOption())
    .addOption(
      option(
        "--log-format <format>",
        "json or pretty (default: pretty in a terminal, json otherwise)",
      ).argParser(argParser((t) => parseChoice(t, "--log-format", ["json", "pretty"] as const))),
    )
    .action(startCommand);
}
