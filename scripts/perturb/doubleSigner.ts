// Must stay the first import: libp2p calls Promise.withResolvers, which Node 20 lacks.
import "../../packages/node/src/network/polyfill.js";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { generateKeyPair } from "@libp2p/crypto/keys";
import {
  addressFromPublicKey,
  buildBlock,
  devnetKeyPair,
  encodeBlock,
  getAccount,
  keyPairFromSeed,
  parseGenesisJson,
  signTx,
  toHex,
} from "../../packages/core/src/index.js";
import { createLogger, createNode, type SlotEvent } from "../../packages/node/src/index.js";
import { createNetwork } from "../../packages/node/src/network/index.js";

/*
 * The test-only double signer: an equivocating validator as its own process, bundled and started
 * by the harness like any node (in its own namespace when there are namespaces).
 *
 * It runs a follower node (a real cardio node with a throwaway key that never forges) to know the
 * head and its state, and a bare libp2p peer on the blocks topic. At every slot the cheating
 * validator wins on the follower's head, it builds two different valid blocks for that slot — one
 * empty, one carrying a BPM reading signed by the cheater — signs both with the cheater's key and
 * gossips both. It stops once the follower's head shows the cheater's stake gone (slashed), or after
 * `maxOffences`. The same approach as test/equivocation.test.ts, out of process.
 *
 * Config: JSON in PERTURB_DOUBLE_SIGNER (see `DoubleSignerConfig`). Reports JSON lines on stdout.
 */

export interface DoubleSignerConfig {
  genesisFile: string;
  /** Devnet seed and index of the cheating validator's key. */
  seed: string;
  index: number;
  /** Listen multiaddrs of the follower node and the rogue peer. */
  listen: string;
  rogueListen: string;
  bootstrap: string[];
  maxOffences: number;
}

function report(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...event, t: Date.now() })}\n`);
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.env.PERTURB_DOUBLE_SIGNER ?? "") as DoubleSignerConfig;
  const genesis = parseGenesisJson(await readFile(cfg.genesisFile, "utf8"));
  const cheater = devnetKeyPair(cfg.seed, cfg.index);
  const cheaterAddr = addressFromPublicKey(cheater.publicKey);
  const logger = createLogger({ level: "warn", pretty: false });

  const follower = createNode({
    genesis,
    key: keyPairFromSeed(randomBytes(32)),
    forge: false,
    mdns: false,
    listen: [cfg.listen],
    bootstrap: cfg.bootstrap,
    logger,
    slotLog: false,
  });
  const rogue = createNetwork({
    privateKey: await generateKeyPair("Ed25519"),
    chainId: genesis.chainId,
    mdns: false,
    listen: [cfg.rogueListen],
    bootstrap: cfg.bootstrap,
    logger,
  });
  rogue.onMessage(rogue.topics.blocks, () => "ignore");
  await follower.start();
  await rogue.start();
  report({ event: "ready", follower: follower.peerId, cheater: cheaterAddr });

  let offences = 0;
  let done = false;
  follower.events.on("slot", (e: SlotEvent) => {
    if (done || e.winner !== cheaterAddr) return;
    const head = follower.head();
    if (follower.status().syncState !== "synced" || rogue.meshPeers(rogue.topics.blocks).length === 0) {
      report({ event: "skipped", slot: e.slot, why: "not synced or no mesh peers" });
      return;
    }
    if (getAccount(head.state, cheater.publicKey).stake < genesis.minStake) {
      done = true;
      report({ event: "slashed", slot: e.slot, height: head.height });
      return;
    }
    const parent = { hash: head.hash, height: head.height, slot: head.slot, state: head.state };
    const nonce = getAccount(head.state, cheater.publicKey).nonce;
    const a = buildBlock({ config: genesis, parent, slot: e.slot, key: cheater, candidates: [] });
    const bpm = signTx(
      { kind: "bpm", from: cheater.publicKey, nonce, fee: 0n, bpm: 61 + (e.slot % 100) },
      cheater,
      genesis.chainId,
    );
    const b = buildBlock({ config: genesis, parent, slot: e.slot, key: cheater, candidates: [bpm] });
    offences++;
    report({
      event: "equivocated",
      slot: e.slot,
      parentHeight: head.height,
      a: toHex(a.hash),
      b: toHex(b.hash),
    });
    void rogue.publish(rogue.topics.blocks, encodeBlock(a.block)).catch(() => {});
    void rogue.publish(rogue.topics.blocks, encodeBlock(b.block)).catch(() => {});
    if (offences >= cfg.maxOffences) done = true;
  });

  const stop = async () => {
    await rogue.stop().catch(() => {});
    await follower.stop().catch(() => {});
    report({ event: "stopped" });
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

main().catch((err: unknown) => {
  report({ event: "error", error: String((err as Error)?.stack ?? err) });
  process.exit(1);
});
