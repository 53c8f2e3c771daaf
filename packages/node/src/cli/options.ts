import { type Command, InvalidArgumentError, Option } from "commander";
import type { LogLevel } from "../run/startNode.js";
import { DEFAULT_NODE_URL } from "./apiClient.js";
import { CliError } from "./cliError.js";
import { parseChoice, parseInteger, parseNodeUrl, parseNonce, parseU64 } from "./parseInput.js";

/*
 * Option factories shared by the commands. Every flag also reads a `CARDIO_<FLAG>` environment
 * variable (`--data-dir` ← `CARDIO_DATA_DIR`, `--no-mdns` ← `CARDIO_NO_MDNS`), named by
 * `envName`, so a flag and its variable can never drift apart.
 */

/** Default key file of every command that signs. */
export const DEFAULT_KEY_FILE = "./cardio.key";

/** `--data-dir` → `CARDIO_DATA_DIR`. */
export function envName(longFlag: string): string {
  return `CARDIO_${longFlag.replace(/^--/, "").replace(/-/g, "_").toUpperCase()}`;
}

/** An option that also reads its `CARDIO_*` variable. */
export function option(flags: string, description: string): Option {
  const o = new Option(flags, description);
  if (o.long === undefined) throw new Error(`option ${flags} has no long name`);
  return o.env(envName(o.long));
}

/**
 * Adapts a parser that throws `CliError` to commander, which reports `InvalidArgumentError` as
 * one line naming the flag (and the variable, when the value came from the environment).
 */
export function argParser<T>(parse: (text: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (err) {
      if (err instanceof CliError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  };
}

/** `--key <file>`: the Ed25519 key file (see keyFile.ts). */
export function keyOption(description = "key file to sign with"): Option {
  return option("--key <file>", description).default(DEFAULT_KEY_FILE);
}

/** `--node <url>`: a node's HTTP API. */
export function nodeOption(): Option {
  return option("--node <url>", "HTTP API of the node to talk to")
    .default(DEFAULT_NODE_URL)
    .argParser(argParser(parseNodeUrl));
}

/** `--json`: machine-readable output. */
export function jsonOption(): Option {
  return option("--json", "print JSON instead of text");
}

/** `--timeout <seconds>`: how long one API request may take. */
export function timeoutOption(): Option {
  return option("--timeout <seconds>", "give up on a request to the node after this many seconds")
    .default(10)
    .argParser(argParser((t) => parseInteger(t, "--timeout", 1, 3600)));
}

/** The flags every transaction command takes: key, node, fee, nonce, wait. */
export function addTxOptions(cmd: Command): Command {
  return cmd
    .addOption(keyOption())
    .addOption(nodeOption())
    .addOption(
      option("--fee <n>", "fee paid to the block's proposer, in tokens")
        .default(0n, "0")
        .argParser(argParser((t) => parseU64(t, "--fee"))),
    )
    .addOption(
      option(
        "--nonce <n>",
        "nonce to sign with (default: the account's next one, asked from the node)",
      ).argParser(argParser(parseNonce)),
    )
    .addOption(option("--wait", "wait until the transaction is in a block, and print its height"))
    .addOption(
      option("--wait-timeout <seconds>", "with --wait, give up after this many seconds")
        .default(60)
        .argParser(argParser((t) => parseInteger(t, "--wait-timeout", 1, 86_400))),
    )
    .addOption(timeoutOption())
    .addOption(jsonOption());
}

const FALSE_WORDS = /^(|0|false|no|off)$/i;

/**
 * Commander sets a boolean flag whenever its variable exists, whatever its value; this makes
 * `CARDIO_JSON=0` or `CARDIO_NO_MDNS=false` mean "not set", as people expect. Run before actions.
 */
export function applyBooleanEnvValues(cmd: Command): void {
  for (const o of cmd.options) {
    if (o.required || o.optional || o.envVar === undefined) continue;
    const key = o.attributeName();
    if (cmd.getOptionValueSource(key) !== "env") continue;
    if (FALSE_WORDS.test(process.env[o.envVar] ?? "")) cmd.setOptionValueWithSource(key, o.negate, "env");
  }
}

/**
 * pino's levels. A copy of `LOG_LEVELS` in run/startNode.ts rather than an import of it, so that
 * `cardio --help` does not load the node; `satisfies` keeps the two in step.
 */
export const LOG_LEVEL_CHOICES = [
  "fatal",
  "error",
  "warn",
  "info",
  "debug",
  "trace",
  "silent",
] as const satisfies readonly LogLevel[];

/** `--log-level <level>`. */
export function logLevelOption(): Option {
  return option("--log-level <level>", `least level logged: ${LOG_LEVEL_CHOICES.join(", ")}`)
    .default("info")
    .argParser(argParser((t) => parseChoice(t, "--log-level", LOG_LEVEL_CHOICES)));
}
