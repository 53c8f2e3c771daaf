import { join } from "node:path";
import { type Genesis, getAccount, type KeyPair, signTx } from "@cardio/core";
import { createApiServer } from "../api/apiServer.js";
import { createLogger, errorFields, type Logger } from "../logger.js";
import { createNode } from "../node.js";
import type { CardioNode } from "../nodeTypes.js";
import { createChainStore, createFileBlockJournal, createLevelKvStore } from "../storage/index.js";

/** Levels `--log-level` accepts (pino's). */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What `cardio start` hands over, checked and loaded: flags parsed, key and genesis read. */
export interface StartNodeOptions {
  /** The node's key (libp2p identity and validator key), read from `keyFile` with its checks. */
  key: KeyPair;
  keyFile: string;
  genesis: Genesis;
  genesisFile: string;
  /** Directory of the LevelDB store. */
  dataDir: string;
  /** libp2p listen multiaddrs (already checked to parse). */
  listen: string[];
  /** Peers to dial at start (multiaddrs with /p2p/<id>). */
  bootstrap: string[];
  /** HTTP API port (0: any free port) and host. */
  apiPort: number;
  apiHost: string;
  /** Bond up to this many tokens once synced, if not already bonded; undefined: do not bond. */
  stake?: bigint;
  mdns: boolean;
  logLevel: LogLevel;
  /** `pretty` or `json`; undefined: pretty in a terminal, JSON otherwise. */
  logFormat?: "json" | "pretty";
  /** Addresses announced to peers instead of the listen addresses (default none). */
  announce?: string[];
  /** Milliseconds added to this node's clock; for fault testing only (default 0). */
  clockOffsetMs?: number;
}

/** The block journal's file name in the data directory (see `CardioNodeOptions.blockJournal`). */
export const BLOCK_JOURNAL_FILE = "blocks.journal";

/**
 * Runs a node until SIGINT/SIGTERM and resolves once it has stopped cleanly: LevelDB store under
 * `dataDir`, libp2p, the HTTP API, and (with `stake`) one bonding transaction once synced.
 */
export async function startNode(opts: StartNodeOptions): Promise<void> {
  const logger = createLogger({
    level: opts.logLevel,
    ...(opts.logFormat === undefined ? {} : { pretty: opts.logFormat === "pretty" }),
  });
  const store = createChainStore(createLevelKvStore({ dir: opts.dataDir }));
  const node = createNode({
    genesis: opts.genesis,
    key: opts.key,
    store,
    // Beside LevelDB's files, which it leaves alone; opened once the store holds the directory's lock.
    blockJournal: createFileBlockJournal({ path: join(opts.dataDir, BLOCK_JOURNAL_FILE) }),
    listen: opts.listen,
    bootstrap: opts.bootstrap,
    mdns: opts.mdns,
    logger,
    processMetrics: true,
    ...(opts.announce === undefined || opts.announce.length === 0 ? {} : { announce: opts.announce }),
    ...(opts.clockOffsetMs === undefined || opts.clockOffsetMs === 0
      ? {}
      : { now: () => Date.now() + (opts.clockOffsetMs ?? 0) }),
  });
  await node.start();
  const api = createApiServer({ node, host: opts.apiHost, port: opts.apiPort, logger });
  let apiUrl: string;
  try {
    apiUrl = (await api.start()).url;
  } catch (err) {
    await node.stop();
    throw err;
  }
  logger.info({ api: apiUrl, peerId: node.peerId, dataDir: opts.dataDir }, `API listening on ${apiUrl}`);

  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.info({ signal }, "already stopping");
        return;
      }
      stopping = true;
      logger.info({ signal }, "stopping");
      // Reverse order of start: API first so no request reaches a stopping node.
      api
        .stop()
        .then(() => node.stop())
        .catch((err: unknown) => logger.error(errorFields(err), "stop failed"))
        .finally(resolve);
    };
    // `on`, not `once`: a Ctrl-C may reach us twice (terminal group and devnet parent); both mean stop.
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
  });
  if (opts.stake !== undefined && opts.stake > 0n) void bondWhenSynced(node, opts.key, opts.stake, logger);
  await stopped;
}

/** Bonds up to `target` tokens once the node is synced, unless that much is already bonded. */
async function bondWhenSynced(node: CardioNode, key: KeyPair, target: bigint, log: Logger): Promise<void> {
  // Synced, and either a peer is connected or the node has waited long enough to be alone by design.
  const started = Date.now();
  while (node.isRunning()) {
    const synced = node.status().syncState === "synced";
    if (synced && (node.peers().length > 0 || Date.now() - started > 10_000)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (!node.isRunning()) return;
  const account = getAccount(node.head().state, key.publicKey);
  if (account.stake >= target) {
    log.info({ stake: account.stake.toString() }, "already bonded; not staking");
    return;
  }
  const wanted = target - account.stake;
  // BigInt: Math.min does not apply.
  // biome-ignore lint/complexity/useMathMinMax: bigint operands
  const amount = wanted < account.balance ? wanted : account.balance;
  if (amount <= 0n) {
    log.warn({ balance: account.balance.toString() }, "no balance to stake");
    return;
  }
  try {
    const tx = signTx(
      { kind: "stake", from: key.publicKey, nonce: account.nonce, fee: 0n, amount },
      key,
      node.config.chainId,
    );
    const id = await node.submitTx(tx);
    log.info({ amount: amount.toString(), id }, `staking ${amount} tokens`);
  } catch (err) {
    log.warn(errorFields(err), "stake transaction refused");
  }
}
