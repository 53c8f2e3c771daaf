import type { Command } from "commander";
import { ApiClient, BLOCKS_PAGE_MAX } from "../apiClient.js";
import type { BlockView } from "../apiViews.js";
import { formatBlock } from "../format.js";
import { argParser, jsonOption, nodeOption, option, timeoutOption } from "../options.js";
import { printJson, println } from "../output.js";
import { parseInteger } from "../parseInput.js";

/** Most blocks one `cardio chain` asks for; the node may cap a page lower. */
export const MAX_CHAIN_LIMIT = 1000;

/** Options of `cardio chain`. */
export interface ChainOptions {
  node: string;
  from?: number;
  limit: number;
  json?: boolean;
  timeout: number;
}

/**
 * `cardio chain`: blocks of the node's canonical chain, one header line each and one line per
 * transaction (`bpm 72 from 12D3…a1b2c3`). Without `--from`, the latest `--limit` blocks.
 */
export async function chainCommand(opts: ChainOptions): Promise<void> {
  const client = new ApiClient(opts.node, { timeoutMs: opts.timeout * 1000 });
  const from = opts.from ?? Math.max(0, (await client.status()).head.height - opts.limit + 1);
  // The node serves at most BLOCKS_PAGE_MAX blocks a request: page through longer ranges.
  const blocks: BlockView[] = [];
  const raw: unknown[] = [];
  while (blocks.length < opts.limit) {
    const want = Math.min(BLOCKS_PAGE_MAX, opts.limit - blocks.length);
    const page = await client.blocks(from + blocks.length, want);
    blocks.push(...page.blocks);
    const list = (page.json as { blocks?: unknown }).blocks;
    raw.push(...(Array.isArray(list) ? list : Array.isArray(page.json) ? page.json : []));
    if (page.blocks.length < want) break;
  }
  if (opts.json === true) {
    printJson(raw);
    return;
  }
  if (blocks.length === 0) {
    println(`no blocks from height ${from}`);
    return;
  }
  for (const b of blocks) println(...formatBlock(b));
}

/** Registers `cardio chain`. */
export function registerChain(program: Command): void {
  program
    .command("chain")
    .description("print the chain as readable text (or JSON): height, slot, hash, proposer, transactions")
    .addOption(
      option("--from <height>", "first height to show (default: the latest --limit blocks)").argParser(
        argParser((t) => parseInteger(t, "--from", 0, Number.MAX_SAFE_INTEGER)),
      ),
    )
    .addOption(
      option("--limit <n>", "most blocks to show")
        .default(20)
        .argParser(argParser((t) => parseInteger(t, "--limit", 1, MAX_CHAIN_LIMIT))),
    )
    .addOption(nodeOption())
    .addOption(jsonOption())
    .addOption(timeoutOption())
    .action(chainCommand);
}
