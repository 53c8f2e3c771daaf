/**
 * Hostile gossip into a real node, over the real network: a forging single-validator node
 * (`createNode`, in-process) and a raw libp2p peer (`createNetwork`) publishing fuzzed payloads on the
 * blocks and txs topics: random bytes, mutations and splices of valid encodings (the victim's own
 * blocks, blocks and transactions of another chain, well-signed blocks and transactions that break a
 * rule), one real message at a time, each waited for until the node's verdict is counted.
 *
 * Asserted: no unhandled rejection or uncaught exception; no handler hit an unexpected exception (the
 * node logs one when it does); every input got exactly one verdict in
 * `cardio_gossip_messages_total{topic,verdict}`, "reject" for anything that does not decode, and
 * never "accept"; the mempool stayed empty; the chain kept extending, only with the validator's own
 * blocks, none carrying a transaction; a message over the gossip size cap was dropped before any
 * handler (no verdict counted at all).
 *
 * `FUZZ_NET_RUNS` inputs per topic (default 600; `npm run test:fuzz` sends 5000).
 */
import {
  buildBlock,
  CodecError,
  decodeBlock,
  decodeTx,
  encodeBlock,
  encodeTx,
  SIGNED_HEADER_BYTES,
  type SignedTx,
  signTx,
  toHex,
} from "@cardio/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpus } from "../../../core/test/fuzz/corpus.js";
import { concat, hostileBytes, netRuns, samples, Tally } from "../../../core/test/fuzz/fuzz.js";
import {
  Attacker,
  chainSince,
  type Hazards,
  sendEach,
  sleep,
  slotNow,
  startVictim,
  strangerKey,
  UNEXPECTED_FAILURE_LOGS,
  type Victim,
  watchProcessHazards,
} from "./harness.js";

const N = netRuns();
const TIMEOUT = Math.max(120_000, N * 60);
const report: string[] = [];

let hazards: Hazards;
let victim: Victim;
let attacker: Attacker;
let startHeight = 0;
let startSlot = 0;

beforeAll(async () => {
  hazards = watchProcessHazards();
  // maxBlockBytes below the 1 MiB gossip cap, so a message between the two reaches the handler,
  // whose decoder refuses it on size alone.
  victim = await startVictim({
    seed: "gossip-fuzz",
    funded: 2,
    maxBlockBytes: 64 * 1024,
    // Every input must reach the handlers, one attacker identity for many: without the drop budget,
    // which would cut each identity off after 16 REJECTs (limits.test.ts pins the budget).
    node: { gossipDropBudget: { blocks: false, txs: false } },
  });
  // The attacker would refuse to publish over 1 MiB itself; give it room to send oversized messages.
  attacker = await Attacker.connect(victim, { maxMessageBytes: 3 * 1024 * 1024 });
  while (victim.node.head().height < 6) await sleep(50);
  startHeight = victim.node.head().height;
  startSlot = slotNow(victim.genesis);
}, 60_000);

afterAll(async () => {
  await attacker?.stop();
  await victim?.stop();
  hazards?.stop();
  console.log(`gossip fuzz over the network (FUZZ_NET_RUNS=${N}):\n  ${report.join("\n  ")}`);
});

/** Decodes like the node's handler would, to know which inputs must be rejected outright. */
function decodes(decode: () => unknown): boolean {
  try {
    decode();
    return true;
  } catch (err) {
    if (err instanceof CodecError) return false;
    throw err;
  }
}

describe("fuzz: gossip handlers of a real node, over the network", () => {
  it(
    "blocks topic: every input judged once, undecodable ones rejected, nothing accepted",
    async () => {
      const { node, genesis } = victim;
      const own = [];
      for (let h = 1; h <= 5; h++) own.push(encodeBlock((await node.chain.canonicalBlockAt(h))!.block));
      // Well-formed blocks by a key that never wins: on the head (wrong proposer), far in the future.
      const head = node.head();
      const stranger = strangerKey("gossip-blocks");
      const slot = slotNow(genesis) + 1;
      const strangerBlocks = [slot, slot + 1_000_000].map((s) =>
        encodeBlock(
          buildBlock({ config: genesis, parent: head, slot: s, key: stranger, candidates: [] }).block,
        ),
      );
      const seeds = [...own, ...strangerBlocks, ...corpus().encodedBlocks];
      const inputs = samples(hostileBytes(seeds, 2048), N, "gossip/blocks").map((x) => x.bytes);
      // A few by hand: nothing, one byte, a count that lies, a size between maxBlockBytes and the cap.
      inputs.push(
        new Uint8Array(0),
        Uint8Array.of(0),
        concat(own[0]!.subarray(0, SIGNED_HEADER_BYTES), Uint8Array.of(0xff, 0xff, 0xff, 0xff)),
        new Uint8Array(genesis.maxBlockBytes + 1),
        new Uint8Array(512 * 1024).fill(7),
      );
      // Exact copies of the victim's own blocks are duplicates to its gossipsub (it published them):
      // they never reach the handler. They are checked on their own below.
      const ownHex = new Set(own.map(toHex));
      const all = dedupe(inputs);
      const copies = all.filter((b) => ownHex.has(toHex(b)));
      const unique = all.filter((b) => !ownHex.has(toHex(b)));

      const { verdicts, rotations, ms } = await sendEach(attacker, victim, victim.topics.blocks, unique);
      const tally = new Tally();
      unique.forEach((bytes, i) => {
        const decodable = decodes(() => decodeBlock(bytes, genesis.maxBlockBytes));
        tally.add(decodable ? "decodable" : "undecodable", verdicts[i]!);
        if (!decodable) expect(verdicts[i], `undecodable input ${i}`).toBe("reject");
      });
      expect(verdicts).toHaveLength(unique.length);
      expect(verdicts).not.toContain("accept");
      report.push(
        `blocks: ${tally} | ${unique.length} messages in ${(ms / 1000).toFixed(1)} s, ${rotations} identity changes after graylisting`,
      );

      // Copies of blocks the victim already gossiped: dropped as duplicates, no handler, no decode.
      const before = victim.verdicts.count;
      for (const b of [...copies, ...own]) await attacker.net.publish(victim.topics.blocks, b);
      await attacker.net.publish(victim.topics.blocks, Uint8Array.of(0xd0, 0x0d));
      expect(await victim.verdicts.waitFor(before + 1, 5_000)).toBe(true);
      await sleep(100);
      expect(victim.verdicts.count - before).toBe(1);
      report.push(
        `blocks: ${copies.length + own.length} copies of the victim's own blocks dropped as duplicates before the handler`,
      );
    },
    TIMEOUT,
  );

  it(
    "txs topic: every input judged once, undecodable ones rejected, nothing reaches the mempool",
    async () => {
      const { genesis, keys } = victim;
      const chainId = genesis.chainId;
      const stranger = strangerKey("gossip-txs");
      const funded = keys[1]!;
      const seeds: SignedTx[] = [
        // Signed on this chain, but refused by its state: no funds, a nonce far ahead, a zero amount, a bad BPM.
        signTx(
          { kind: "transfer", from: stranger.publicKey, nonce: 0, fee: 1n, to: funded.publicKey, amount: 5n },
          stranger,
          chainId,
        ),
        signTx(
          { kind: "stake", from: stranger.publicKey, nonce: 0, fee: 0n, amount: 10n },
          stranger,
          chainId,
        ),
        signTx({ kind: "unstake", from: funded.publicKey, nonce: 0, fee: 1n, amount: 10n }, funded, chainId),
        signTx({ kind: "bpm", from: funded.publicKey, nonce: 5000, fee: 1n, bpm: 70 }, funded, chainId),
        signTx({ kind: "bpm", from: funded.publicKey, nonce: 0, fee: 1n, bpm: 0 }, funded, chainId),
        signTx(
          { kind: "transfer", from: funded.publicKey, nonce: 0, fee: 1n, to: stranger.publicKey, amount: 0n },
          funded,
          chainId,
        ),
        signTx(
          {
            kind: "transfer",
            from: funded.publicKey,
            nonce: 0,
            fee: 1n,
            to: stranger.publicKey,
            amount: 10n ** 18n,
          },
          funded,
          chainId,
        ),
        // Another chain's transactions (valid there, bad signatures here), evidence included.
        ...corpus().txs,
      ];
      const encoded = seeds.map(encodeTx);
      const inputs = samples(hostileBytes(encoded, 1200), N, "gossip/txs").map((x) => x.bytes);
      inputs.push(new Uint8Array(1025), new Uint8Array(100_000).fill(4));
      const unique = dedupe(inputs);

      const { verdicts, rotations, ms } = await sendEach(attacker, victim, victim.topics.txs, unique);
      const tally = new Tally();
      unique.forEach((bytes, i) => {
        const decodable = decodes(() => decodeTx(bytes));
        tally.add(decodable ? "decodable" : "undecodable", verdicts[i]!);
        if (!decodable) expect(verdicts[i], `undecodable input ${i}`).toBe("reject");
      });
      expect(verdicts).toHaveLength(unique.length);
      expect(verdicts).not.toContain("accept");
      expect(victim.node.mempool.size).toBe(0);
      report.push(
        `txs: ${tally} | ${unique.length} messages in ${(ms / 1000).toFixed(1)} s, ${rotations} identity changes after graylisting`,
      );
    },
    TIMEOUT,
  );

  it("a message over the gossip size cap is dropped before any handler or decoder sees it", async () => {
    const { verdicts, log } = victim;
    await attacker.rotate(); // a fresh identity, so graylisting from the fuzz runs plays no part
    for (const [topic, size] of [
      [victim.topics.blocks, 1024 * 1024 + 1],
      [victim.topics.txs, 2 * 1024 * 1024],
    ] as const) {
      const before = verdicts.count;
      const warned = log.find("oversized gossip message rejected").length;
      const big = new Uint8Array(size).fill(0xee);
      big[0] = size & 0xff; // distinct content per message
      await attacker.net.publish(topic, big);
      // A small message after it on the same stream: once its verdict is in, the big one was processed.
      const sentinel = Uint8Array.of(0xde, 0xad, size & 0xff, topic.length);
      await attacker.net.publish(topic, sentinel);
      expect(await verdicts.waitFor(before + 1, 5_000)).toBe(true);
      await sleep(100);
      // Only the sentinel was judged: the oversized message never reached the handler (where decoding is).
      expect(verdicts.count - before).toBe(1);
      const drops = log.find("oversized gossip message rejected").slice(warned);
      expect(drops.map((d) => d.obj.bytes)).toEqual([size]);
    }
    report.push(
      "oversized: 1 MiB+1 on blocks, 2 MiB on txs: dropped by the size validator, 0 verdicts, 0 decodes",
    );
  });

  it("afterwards: totals match, no hazards, the chain grew with the validator's blocks only", async () => {
    const { node, verdicts, log } = victim;
    const totals = await verdicts.registryTotals();
    const sum = Object.values(totals).reduce((s, t) => s + Object.values(t).reduce((a, b) => a + b, 0), 0);
    expect(sum).toBe(verdicts.count);
    expect(totals.blocks?.accept ?? 0).toBe(0);
    expect(totals.txs?.accept ?? 0).toBe(0);

    expect(hazards.unhandledRejections).toEqual([]);
    expect(hazards.uncaughtExceptions).toEqual([]);
    for (const msg of UNEXPECTED_FAILURE_LOGS) expect(log.find(msg), msg).toEqual([]);

    const gained = await chainSince(node, startHeight);
    const elapsed = slotNow(victim.genesis) - startSlot;
    expect(gained.proposers).toEqual(new Set(gained.blocks > 0 ? [toHex(victim.keys[0]!.publicKey)] : []));
    expect(gained.txs).toBe(0);
    expect(node.mempool.size).toBe(0);
    const imported = await node.metrics.getSingleMetric("cardio_blocks_imported_total")!.get();
    const bySource = Object.fromEntries(imported.values.map((v) => [v.labels.source, v.value]));
    expect(bySource.gossip ?? 0).toBe(0);
    expect(bySource.sync ?? 0).toBe(0);
    // Kept forging through it all (a loose bound: other test files share the CPU).
    expect(gained.blocks).toBeGreaterThan(elapsed / 3);
    report.push(
      `during the fuzz: ${gained.blocks} blocks forged in ${elapsed} slots; verdict totals ${JSON.stringify(totals)}; ${attacker.identities} attacker identities`,
    );
  });
});

/**
 * gossipsub drops a message whose content it has seen: each input once. The message id hashes the
 * data only, not the topic (network/gossip.ts `msgIdFn`), so bytes sent on one topic are duplicates on
 * the other too: one set for both topics.
 */
const seen = new Set<string>();
function dedupe(inputs: Uint8Array[]): Uint8Array[] {
  return inputs.filter((b) => {
    const k = toHex(b);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
