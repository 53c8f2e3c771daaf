import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  addressFromPublicKey,
  createDevnet,
  DEVNET_DEFAULTS,
  DEVNET_WARNING,
  type Genesis,
  GenesisError,
  genesisToJson,
  type KeyPair,
  MAX_DEVNET_VALIDATORS,
  MAX_SLOT_MS,
  MAX_UNBONDING_DELAY,
  MIN_SLOT_MS,
  validateGenesis,
} from "@cardio/core";
import type { Command } from "commander";
import { CliError, inputError } from "../cliError.js";
import { fsError, generateKeyPair, isErrno, pathExists, writeKeyFile } from "../keyFile.js";
import { argParser, option } from "../options.js";
import { note, println } from "../output.js";
import { parseGenesisTime, parseInteger, parseStakeList, parseU64 } from "../parseInput.js";

/** Delay from now to the default genesis time: long enough to start a few nodes by hand. */
export const DEFAULT_GENESIS_DELAY_MS = 5000;

/** Options of `cardio genesis`, as parsed. */
export interface GenesisCommandOptions {
  validators: number;
  out: string;
  stake?: bigint[];
  balance: bigint;
  slotMs: number;
  chainId: string;
  genesisTime?: string;
  seed?: string;
  minStake: bigint;
  blockReward: bigint;
  unbondingDelay: number;
  force?: boolean;
}

/** The file names `cardio genesis` writes into its output directory. */
export function keyFileName(index: number): string {
  return `node-${index}.key`;
}

/**
 * `cardio genesis`: keys and a genesis for a development network. With `--seed` the keys follow
 * from the seed (`createDevnet`, the same on every machine, so public); without, they are random.
 * Every file is checked before any is written, so a refusal leaves the directory as it was.
 */
export async function genesisCommand(opts: GenesisCommandOptions): Promise<void> {
  const n = opts.validators;
  const stakes = expandStakes(opts.stake, n);
  const genesisTime =
    opts.genesisTime === undefined
      ? Date.now() + DEFAULT_GENESIS_DELAY_MS
      : parseGenesisTime(opts.genesisTime, Date.now());
  const params = {
    chainId: opts.chainId,
    genesisTime,
    slotMs: opts.slotMs,
    blockReward: opts.blockReward,
    minStake: opts.minStake,
    unbondingDelay: opts.unbondingDelay,
    maxBlockTxs: DEVNET_DEFAULTS.maxBlockTxs,
    maxBlockBytes: DEVNET_DEFAULTS.maxBlockBytes,
  };

  let genesis: Genesis;
  let keys: readonly KeyPair[];
  try {
    if (opts.seed !== undefined) {
      ({ genesis, keys } = createDevnet({
        ...params,
        seed: opts.seed,
        validators: n,
        stakes,
        balance: opts.balance,
      }));
    } else {
      keys = Array.from({ length: n }, () => generateKeyPair());
      genesis = validateGenesis({
        ...params,
        accounts: keys.map((k, i) => ({
          address: addressFromPublicKey(k.publicKey),
          balance: opts.balance,
          stake: stakes[i]!,
        })),
      });
    }
  } catch (err) {
    if (err instanceof GenesisError || err instanceof RangeError)
      throw inputError(`invalid genesis: ${err.message}`);
    throw err;
  }
  if (opts.seed !== undefined) note(`warning: ${DEVNET_WARNING}`);

  const genesisFile = join(opts.out, "genesis.json");
  const keyFiles = keys.map((_, i) => join(opts.out, keyFileName(i)));
  await prepareDir(opts.out, [genesisFile, ...keyFiles], opts.force === true);
  for (const [i, key] of keys.entries())
    await writeKeyFile(keyFiles[i]!, key, { force: opts.force === true });
  try {
    await writeFile(genesisFile, `${JSON.stringify(genesisToJson(genesis), null, 2)}\n`, {
      flag: opts.force === true ? "w" : "wx",
    });
  } catch (err) {
    throw fsError(err, genesisFile, "write");
  }

  const starts = new Date(genesisTime).toISOString();
  println(
    `wrote ${genesisFile}: chain ${genesis.chainId}, ${n} validator${n === 1 ? "" : "s"}, ` +
      `${genesis.slotMs} ms slots, slot 0 at ${starts}`,
  );
  for (const [i, key] of keys.entries()) {
    println(`${keyFiles[i]}  ${addressFromPublicKey(key.publicKey)}  stake ${stakes[i]}`);
  }
}

/** One stake per validator: a list as long as `n`, or one value for all. */
function expandStakes(stakes: bigint[] | undefined, n: number): bigint[] {
  if (stakes === undefined) return Array.from({ length: n }, () => DEVNET_DEFAULTS.stake);
  if (stakes.length === 1) return Array.from({ length: n }, () => stakes[0]!);
  if (stakes.length !== n) {
    throw inputError(
      `--stake lists ${stakes.length} stakes for ${n} validators (give one per validator, or one for all)`,
    );
  }
  return stakes;
}

/** Creates `dir` and refuses files already in it unless `force`. */
async function prepareDir(dir: string, files: string[], force: boolean): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    if (isErrno(err, "EEXIST") || isErrno(err, "ENOTDIR"))
      throw new CliError("FILE_ERROR", `${dir} is not a directory`);
    throw fsError(err, dir, "write");
  }
  if (force) return;
  for (const f of files) {
    if (await pathExists(f))
      throw new CliError("FILE_EXISTS", `${f} already exists; refusing to overwrite (use --force)`);
  }
}

/** Registers `cardio genesis`. */
export function registerGenesis(program: Command): void {
  program
    .command("genesis")
    .description("write a genesis.json and one key file per validator for a development network")
    .addOption(
      option("--validators <n>", "number of validators")
        .makeOptionMandatory()
        .argParser(argParser((t) => parseInteger(t, "--validators", 1, MAX_DEVNET_VALIDATORS))),
    )
    .addOption(
      option("--out <dir>", "directory to write genesis.json and node-<i>.key into").makeOptionMandatory(),
    )
    .addOption(
      option("--stake <list>", "stake of each validator, comma-separated (100,50,25), or one for all")
        .default(undefined, String(DEVNET_DEFAULTS.stake))
        .argParser(argParser(parseStakeList)),
    )
    .addOption(
      option("--balance <n>", "spendable balance of each validator")
        .default(DEVNET_DEFAULTS.balance, String(DEVNET_DEFAULTS.balance))
        .argParser(argParser((t) => parseU64(t, "--balance"))),
    )
    .addOption(
      option("--slot-ms <ms>", "slot length in milliseconds")
        .default(DEVNET_DEFAULTS.slotMs)
        .argParser(argParser((t) => parseInteger(t, "--slot-ms", MIN_SLOT_MS, MAX_SLOT_MS))),
    )
    .addOption(option("--chain-id <id>", "chain id ([a-z0-9-], up to 64)").default(DEVNET_DEFAULTS.chainId))
    .addOption(
      option("--genesis-time <time>", "start of slot 0: Unix ms, or from now as +5s / +500ms (default +5s)"),
    )
    .addOption(
      option(
        "--seed <seed>",
        "derive keys from this seed (deterministic, PUBLIC: development only) instead of random",
      ),
    )
    .addOption(
      option("--min-stake <n>", "least stake that makes an account a validator")
        .default(DEVNET_DEFAULTS.minStake, String(DEVNET_DEFAULTS.minStake))
        .argParser(argParser((t) => parseU64(t, "--min-stake"))),
    )
    .addOption(
      option("--block-reward <n>", "tokens minted to each block's proposer")
        .default(DEVNET_DEFAULTS.blockReward, String(DEVNET_DEFAULTS.blockReward))
        .argParser(argParser((t) => parseU64(t, "--block-reward"))),
    )
    .addOption(
      option("--unbonding-delay <slots>", "slots an unstake stays slashable before it is spendable")
        .default(DEVNET_DEFAULTS.unbondingDelay)
        .argParser(argParser((t) => parseInteger(t, "--unbonding-delay", 0, MAX_UNBONDING_DELAY))),
    )
    .addOption(option("--force", "overwrite existing genesis.json and key files"))
    .action(genesisCommand);
}
