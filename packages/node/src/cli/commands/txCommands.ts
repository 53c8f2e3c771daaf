import type { Command } from "commander";
import { addTxOptions } from "../options.js";
import { parseAddress, parseAmount } from "../parseInput.js";
import { sendTx, type TxCommandOptions } from "./sendTx.js";

/** Registers `cardio stake`, `cardio unstake` and `cardio transfer`. */
export function registerTxCommands(program: Command): void {
  addTxOptions(
    program
      .command("stake")
      .description("bond tokens from your balance into stake, to take part in the lottery")
      .argument("<amount>", "tokens to bond"),
  ).action((amount: string, opts: TxCommandOptions) =>
    sendTx({ kind: "stake", amount: parseAmount(amount) }, opts),
  );

  addTxOptions(
    program
      .command("unstake")
      .description("start unbonding stake; it returns to your balance after the unbonding delay")
      .argument("<amount>", "tokens to unbond"),
  ).action((amount: string, opts: TxCommandOptions) =>
    sendTx({ kind: "unstake", amount: parseAmount(amount) }, opts),
  );

  addTxOptions(
    program
      .command("transfer")
      .description("send tokens to another account")
      .argument("<to>", "address of the recipient (12D3KooW…)")
      .argument("<amount>", "tokens to send"),
  ).action((to: string, amount: string, opts: TxCommandOptions) => {
    // Both checked before anything is read or sent.
    const payload = {
      kind: "transfer" as const,
      to: parseAddress(to, "recipient"),
      amount: parseAmount(amount),
    };
    return sendTx(payload, opts, to.trim());
  });
}
