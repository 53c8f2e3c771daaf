import type { Command } from "commander";
import { ApiClient } from "../apiClient.js";
import { readStatus } from "../apiViews.js";
import { formatStatus } from "../format.js";
import { jsonOption, nodeOption, timeoutOption } from "../options.js";
import { printJson, println } from "../output.js";

/** Options of `cardio status`. */
export interface StatusOptions {
  node: string;
  json?: boolean;
  timeout: number;
}

/** `cardio status`: what the node knows — chain, head, slot, sync, peers, mempool. */
export async function statusCommand(opts: StatusOptions): Promise<void> {
  const client = new ApiClient(opts.node, { timeoutMs: opts.timeout * 1000 });
  const json = await client.statusJson();
  if (opts.json === true) {
    printJson(json);
    return;
  }
  println(...formatStatus(readStatus(json), client.baseUrl));
}

/** Registers `cardio status`. */
export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("show a node's chain, head, current slot, sync state and peers")
    .addOption(nodeOption())
    .addOption(jsonOption())
    .addOption(timeoutOption())
    .action(statusCommand);
}
