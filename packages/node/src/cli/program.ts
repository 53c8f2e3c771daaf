import { Command, CommanderError } from "commander";
import { CliError, ExitCode, oneLine } from "./cliError.js";
import { registerBpm } from "./commands/bpm.js";
import { registerChain } from "./commands/chain.js";
import { registerDevnet } from "./commands/devnet.js";
import { registerGenesis } from "./commands/genesis.js";
import { registerKeys } from "./commands/keys.js";
import { registerStart } from "./commands/start.js";
import { registerStatus } from "./commands/status.js";
import { registerTxCommands } from "./commands/txCommands.js";
import { applyBooleanEnvValues, option } from "./options.js";

/** Version shown by `cardio --version`. */
export const CLI_VERSION = "0.1.0";

/**
 * The `cardio` command tree. Settings made here before the subcommands are added (exit override,
 * output) are inherited by every subcommand.
 */
export function buildProgram(): Command {
  const program = new Command("cardio")
    .description("cardio: a Proof-of-Stake blockchain where every validator is its own libp2p node")
    .version(CLI_VERSION)
    .addOption(option("--debug", "show stack traces of errors"))
    .exitOverride()
    .configureOutput({
      // Commander's messages sometimes span two lines ("Did you mean …?"); errors are one line here.
      outputError: (str, write) => write(`${oneLine(str)}\n`),
    })
    .showSuggestionAfterError(true)
    .hook("preAction", (root, action) => {
      applyBooleanEnvValues(root);
      applyBooleanEnvValues(action);
    });
  registerKeys(program);
  registerGenesis(program);
  registerStart(program);
  registerTxCommands(program);
  registerBpm(program);
  registerStatus(program);
  registerChain(program);
  registerDevnet(program);
  return program;
}

/** True when `CARDIO_DEBUG` asks for stack traces (set, and not 0/false/no/off). */
function debugFromEnv(): boolean {
  const v = process.env.CARDIO_DEBUG;
  return v !== undefined && !/^(|0|false|no|off)$/i.test(v);
}

/**
 * Runs `cardio` on `argv` (`process.argv`: node, script, args…) and resolves with the exit code.
 * Never calls `process.exit` and never throws: a user error becomes one line `error: <message>` on
 * stderr (with the stack only under `--debug` or `CARDIO_DEBUG=1`), an unexpected one too, plus
 * a hint to rerun with `--debug`.
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const debug = argv.includes("--debug") || debugFromEnv();
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.OK;
  } catch (err) {
    return reportError(err, debug);
  }
}

/** Prints `err` for a person and returns the exit code it deserves. */
export function reportError(err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) {
    // Commander has already printed its message (or the help / version).
    if (err.exitCode === 0) return ExitCode.OK;
    return ExitCode.USAGE;
  }
  if (err instanceof CliError) {
    process.stderr.write(`error: ${err.message}\n`);
    if (debug) process.stderr.write(`${describeForDebug(err)}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${oneLine(message)}${debug ? "" : " (run with --debug for details)"}\n`);
  if (debug) process.stderr.write(`${describeForDebug(err)}\n`);
  return ExitCode.FAILURE;
}

function describeForDebug(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  let text = err.stack ?? `${err.name}: ${err.message}`;
  let cause: unknown = err.cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    text += `\ncaused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return text;
}
