import type { Command } from "commander";
import { CliError, ExitCode, inputError } from "../cliError.js";
import { addTxOptions } from "../options.js";
import { println } from "../output.js";
import { parseBpm } from "../parseInput.js";
import { Prompter, requireTerminal } from "../prompt.js";
import { followSlots } from "../slotFeed.js";
import { connectSender, sendTx, type TxCommandOptions } from "./sendTx.js";

/** The tutorial's question. */
export const BPM_QUESTION = "Enter a new BPM: ";

/** `cardio bpm [value]`: one reading, or in a terminal without a value, the interactive loop. */
export async function bpmCommand(value: string | undefined, opts: TxCommandOptions): Promise<number> {
  if (value !== undefined) {
    await sendTx({ kind: "bpm", bpm: parseBpm(value) }, opts);
    return ExitCode.OK;
  }
  requireTerminal("bpm value", "pass it as an argument, e.g. `cardio bpm 72`");
  // One nonce cannot sign a series of readings; --wait and --json apply to one reading and are ignored.
  if (opts.nonce !== undefined)
    throw inputError("--nonce applies to a single reading: give a value, or leave out --nonce");
  return interactiveBpm(opts);
}

/**
 * The tutorial's session: ask `Enter a new BPM:`, refuse bad readings with a one-line reason and
 * ask again, submit good ones, and meanwhile announce each slot's winner from the node's event
 * stream, until EOF (Ctrl-D) or Ctrl-C. A refused submission is reported and the loop goes on:
 * one full mempool must not end the session.
 */
export async function interactiveBpm(opts: TxCommandOptions): Promise<number> {
  const sender = await connectSender(opts);
  println(
    `sending heart-rate readings as ${sender.address} to ${sender.client.baseUrl} (chain ${sender.chainId})`,
    "type a BPM (1-300) and Enter; Ctrl-D or Ctrl-C to quit",
  );
  const prompter = new Prompter();
  let interrupted = false;
  prompter.onInterrupt(() => {
    interrupted = true;
    prompter.close();
  });
  const stop = new AbortController();
  const feed = followSlots(sender.client, sender.address, (line) => prompter.print(line), stop.signal);
  try {
    for (;;) {
      const bpm = await prompter.askValid(BPM_QUESTION, parseBpm);
      if (bpm === undefined) break;
      try {
        const sent = await sender.send({ kind: "bpm", bpm }, { fee: opts.fee });
        prompter.print(`tx ${sent.id} submitted: bpm ${bpm} (nonce ${sent.nonce})`);
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        prompter.print(`error: ${err.message}`);
      }
    }
  } finally {
    stop.abort();
    prompter.close();
    await feed;
  }
  // Leave the shell's prompt on a fresh line after ^D.
  process.stdout.write("\n");
  return interrupted ? ExitCode.INTERRUPTED : ExitCode.OK;
}

/** Registers `cardio bpm`. */
export function registerBpm(program: Command): void {
  addTxOptions(
    program
      .command("bpm")
      .description(
        "record a heart-rate reading (1-300) on chain; without a value, in a terminal, keep asking " +
          "`Enter a new BPM:` and show each slot's winner",
      )
      .argument("[value]", "beats per minute, a whole number from 1 to 300"),
  ).action(async (value: string | undefined, opts: TxCommandOptions) => {
    const code = await bpmCommand(value, opts);
    if (code !== ExitCode.OK) process.exitCode = code;
  });
}
