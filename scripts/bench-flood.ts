/**
 * Flood benchmark: what a validator absorbs from hostile peers, and what it costs its forging.
 *
 *   npm run bench:flood                      (tsx scripts/bench-flood.ts)
 *   FLOOD_SECONDS=20 npm run bench:flood     (longer windows; default 10 s each)
 *
 * One validator (createNode, 200 ms slots, real libp2p on loopback) runs in this process, alone, so
 * its RSS and event loop are its own. Each flooder runs in a process of its own
 * (packages/node/test/fuzz/floodPeer.ts), so what it spends sending is not taken from the victim's
 * event loop. Scenarios, one after the other, each for FLOOD_SECONDS:
 *
 *   idle             nothing: the baseline
 *   gossip garbage   one peer publishing valid-looking garbage blocks (decodable, on the head, signed
 *                    by a key that never wins: REJECT) as fast as its stack sends
 *   gossip sybil     the same, from a fresh key every 50 messages (gossipsub graylists one key
 *                    after its first burst; fresh keys keep reaching the handler)
 *   gossip dups      fresh keys (one per 50 messages) re-publishing garbage the node already judged
 *   gossip orphans   one peer publishing decodable blocks with unknown parents (IGNORE: never
 *                    penalised by gossipsub; the node's ignore budget hangs the peer up and refuses it)
 *   orphans sybil    the same from a fresh key every 500 messages (each key draws the ignore budget
 *                    before it is cut off)
 *   range x1         one peer sending blocks_by_range(0, 256), 24 requests in flight
 *   range x4         four peers doing the same at once
 *
 * For each: messages sent (and per second), how many reached the gossip handler (verdict counter) or
 * were answered/rate-limited, the flooder's gossipsub score at the victim (read from the node's private
 * network, as bench-network.ts does), RSS and heap before / peak during / after (5 s later), event-loop
 * delay, and slots forged vs missed during the window (one validator: every slot is its own).
 */
import "../packages/node/src/network/polyfill.js";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import {
  buildBlock,
  createDevnet,
  encodeBlock,
  keyPairFromSeed,
  SIGNED_HEADER_BYTES,
  sha256,
  utf8,
} from "@cardio/core";
import type { Counter } from "prom-client";
import {
  type CardioNode,
  createChainStore,
  createLevelKvStore,
  createMemoryKvStore,
  createNode,
} from "../packages/node/src/index.js";
import type { Network } from "../packages/node/src/network/index.js";
import { encodeRangeRequest, MAX_BLOCKS_PER_RANGE } from "../packages/node/src/sync/messages.js";
import {
  type FloodPeer,
  type FloodResult,
  type GossipFlood,
  startFloodPeer,
} from "../packages/node/test/fuzz/floodPeer.js";

const SECONDS = Number(process.env.FLOOD_SECONDS ?? 10);
/** Only the scenarios whose name contains this (e.g. FLOOD_ONLY=range); default all. */
const ONLY = process.env.FLOOD_ONLY ?? "";
/** `level` (LevelDB in a temporary directory, as `cardio start` runs) or `memory` (as the tests run). */
const STORE = process.env.FLOOD_STORE ?? "level";
const SLOT_MS = 200;

interface Row {
  scenario: string;
  sent: number;
  perSecond: number;
  /** gossip: messages that reached the node (from its meshsub bytes received); requests: MiB it served. */
  received: string;
  handled: string;
  score: string;
  rss: [number, number, number];
  heap: [number, number, number];
  loop: { p99: number; max: number };
  forged: number;
  /** Slots whose timer fired (the others were skipped: the event loop woke up a slot late). */
  fired: number;
  slots: number;
}

const mib = (b: number) => Math.round(b / 1024 / 1024);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function networkOf(node: CardioNode): Network {
  const net = (node as unknown as { network?: Network }).network;
  if (net === undefined || typeof net.gossipScore !== "function") {
    throw new Error("this CardioNode does not hold its network in `network`; update bench-flood.ts");
  }
  return net;
}

async function main(): Promise<void> {
  const { genesis, keys } = createDevnet({
    seed: `bench-flood-${process.pid}`,
    chainId: `bench-flood-${process.pid}`,
    validators: 1,
    slotMs: SLOT_MS,
    genesisTime: Date.now() + 500,
  });
  const dir = mkdtempSync(join(tmpdir(), "cardio-bench-flood-"));
  const kv = STORE === "memory" ? createMemoryKvStore() : createLevelKvStore({ dir });
  const node = createNode({
    genesis,
    key: keys[0]!,
    mdns: false,
    slotLog: false,
    store: createChainStore(kv),
  });
  await node.start();
  const addr = node.multiaddrs()[0]!;
  const topics = { blocks: `/cardio/${genesis.chainId}/blocks/1`, txs: `/cardio/${genesis.chainId}/txs/1` };
  const verdicts = node.metrics.getSingleMetric("cardio_gossip_messages_total") as Counter<
    "topic" | "verdict"
  >;
  let judged = 0;
  const inc = verdicts.inc.bind(verdicts) as (...a: unknown[]) => void;
  (verdicts as { inc: unknown }).inc = (...a: unknown[]) => {
    judged++;
    inc(...a);
  };
  let forgedByUs = 0;
  let slotEvents = 0;
  node.events.on("slot", (e) => {
    slotEvents++;
    if (e.forgedByUs) forgedByUs++;
  });
  while (node.head().height < 10) await sleep(100);

  const peers: FloodPeer[] = [];
  for (let i = 0; i < 4; i++) peers.push(await startFloodPeer());

  const stranger = keyPairFromSeed(sha256(utf8("bench-flood-stranger")));
  const garbageTemplate = (): number[] => {
    const head = node.head();
    const slot = Math.floor((Date.now() - genesis.genesisTime) / SLOT_MS) + 1;
    return Array.from(
      encodeBlock(buildBlock({ config: genesis, parent: head, slot, key: stranger, candidates: [] }).block),
    );
  };
  const orphanTemplate = (): number[] => {
    const h = node.head();
    const header = {
      height: h.height + 2,
      slot: h.slot + 2,
      parentHash: sha256(utf8("nobody has this parent")),
      proposer: stranger.publicKey,
      txRoot: new Uint8Array(32),
      stateRoot: new Uint8Array(32),
      signature: new Uint8Array(64),
    };
    return Array.from(encodeBlock({ header, txs: [] }));
  };
  const gossip = (over: Partial<GossipFlood>): GossipFlood => {
    const g = gossipCommand(over);
    messageWireSize = wireSize(g.template.length, g.topic);
    return g;
  };
  const gossipCommand = (over: Partial<GossipFlood>): GossipFlood => ({
    kind: "gossip",
    addr,
    victimPeerId: node.peerId,
    chainId: genesis.chainId,
    topic: topics.blocks,
    template: garbageTemplate(),
    offset: SIGNED_HEADER_BYTES - 4,
    first: 0,
    count: 10_000_000,
    seconds: SECONDS,
    drainMs: 1_000,
    ...over,
  });
  const rangeCommand = {
    kind: "requests" as const,
    addr,
    protocol: `/cardio/${genesis.chainId}/blocks_by_range/1`,
    payload: Array.from(encodeRangeRequest({ start: 0, count: MAX_BLOCKS_PER_RANGE })),
    inFlight: 24,
    seconds: SECONDS,
  };

  const rows: Row[] = [];
  /** `libp2p_data_transfer_bytes_total` of the node, by its `protocol` label ("<protocol> received"). */
  const transfer = async (): Promise<Map<string, number>> => {
    const m = node.metrics.getSingleMetric("libp2p_data_transfer_bytes_total");
    const out = new Map<string, number>();
    for (const v of (await m?.get())?.values ?? []) out.set(String(v.labels.protocol), v.value);
    return out;
  };
  const sum = (m: Map<string, number>, re: RegExp) =>
    [...m].filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v, 0);
  /** Bytes one StrictNoSign gossip message of `dataLength` takes on the wire (RPC framing included). */
  const varintLength = (n: number) => (n < 128 ? 1 : n < 16384 ? 2 : 3);
  const wireSize = (dataLength: number, topic: string) => {
    const msg = 1 + varintLength(dataLength) + dataLength + 1 + varintLength(topic.length) + topic.length;
    const rpc = 1 + varintLength(msg) + msg;
    return varintLength(rpc) + rpc;
  };
  let messageWireSize = 0;
  async function measure(scenario: string, flood: () => Promise<FloodResult[]>): Promise<void> {
    if (scenario !== "idle" && !scenario.includes(ONLY)) return;
    global.gc?.();
    const rss0 = process.memoryUsage();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    let peakRss = rss0.rss;
    let peakHeap = rss0.heapUsed;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    }, 100);
    const t0 = await transfer();
    const j0 = judged;
    const f0 = forgedByUs;
    const e0 = slotEvents;
    const s0 = Math.floor((Date.now() - genesis.genesisTime) / SLOT_MS);
    loop.enable();
    const results = await flood();
    loop.disable();
    const s1 = Math.floor((Date.now() - genesis.genesisTime) / SLOT_MS);
    const forged = forgedByUs - f0;
    const fired = slotEvents - e0;
    const handledGossip = judged - j0;
    clearInterval(sampler);
    const t1 = await transfer();
    const net = networkOf(node);
    const scores = results.flatMap((r) => r.peerIds ?? []).map((id) => net.gossipScore(id));
    await sleep(5_000);
    global.gc?.();
    const after = process.memoryUsage();
    const sent = results.reduce((s, r) => s + r.sent, 0);
    const seconds = Math.max(...results.map((r) => r.seconds), 0.001);
    const requests = results.some((r) => r.ok + r.limited + r.error + r.none > 0);
    const meshIn = sum(t1, /^\/meshsub\/.* received$/) - sum(t0, /^\/meshsub\/.* received$/);
    const served = sum(t1, /blocks_by_range\/1 sent$/) - sum(t0, /blocks_by_range\/1 sent$/);
    const received = requests
      ? `${(served / 1024 / 1024).toFixed(1)} MiB served`
      : messageWireSize === 0
        ? "–"
        : `≈ ${Math.round(meshIn / messageWireSize)} (${Math.round(meshIn / messageWireSize / seconds)}/s)`;
    const handled = requests
      ? `${results.reduce((s, r) => s + r.ok, 0)} answered, ${results.reduce((s, r) => s + r.limited, 0)} rate-limited` +
        `${results.reduce((s, r) => s + r.error + r.none, 0) > 0 ? `, ${results.reduce((s, r) => s + r.error + r.none, 0)} failed` : ""}`
      : `${handledGossip} judged`;
    const score =
      scores.length === 0
        ? "–"
        : scores.length === 1
          ? Math.round(scores[0]!).toString()
          : `${scores.filter((s) => s < -80).length}/${scores.length} keys < −80 (min ${Math.round(Math.min(...scores))})`;
    rows.push({
      scenario,
      sent,
      perSecond: sent / seconds,
      received,
      handled,
      score,
      rss: [mib(rss0.rss), mib(peakRss), mib(after.rss)],
      heap: [mib(rss0.heapUsed), mib(peakHeap), mib(after.heapUsed)],
      loop: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      forged,
      fired,
      slots: s1 - s0,
    });
    const r = rows.at(-1)!;
    console.error(
      `${scenario}: sent ${sent} (${Math.round(r.perSecond)}/s), received ${received}, ${handled}, score ${score}, forged ${forged}/${r.slots} (${fired} slot timers fired), ` +
        `rss ${r.rss.join("/")} MiB, loop p99 ${r.loop.p99.toFixed(1)} ms`,
    );
  }

  const idle = async (): Promise<FloodResult[]> => {
    await sleep(SECONDS * 1000);
    return [];
  };
  await measure("idle", idle);
  let garbage: GossipFlood | undefined;
  await measure("gossip garbage (1 key)", async () => {
    garbage = gossip({ first: 0 });
    return [await peers[0]!.run(garbage)];
  });
  await measure("gossip garbage (sybil: new key / 50 msgs)", async () => [
    await peers[0]!.run(gossip({ first: 50_000_000, rotateEvery: 50, batch: 50 })),
  ]);
  await measure("gossip duplicates (sybil: new key / 50 msgs, all already seen)", async () => [
    // The first 50 messages of the garbage flood reached the handler (the key was graylisted later):
    // every fresh key re-sends exactly those.
    await peers[1]!.run({ ...garbage!, rotateEvery: 50, batch: 50, cycle: 50 }),
  ]);
  await measure("gossip orphans (IGNORE, 1 key)", async () => [
    await peers[0]!.run(gossip({ template: orphanTemplate(), offset: 16, first: 0 })),
  ]);
  await measure("gossip orphans (IGNORE, sybil: new key / 500 msgs)", async () => [
    await peers[0]!.run(
      gossip({ template: orphanTemplate(), offset: 16, first: 100_000_000, rotateEvery: 500, batch: 100 }),
    ),
  ]);
  await measure("blocks_by_range (1 peer, 24 in flight)", async () => [await peers[0]!.run(rangeCommand)]);
  await measure("blocks_by_range (4 peers, 24 in flight each)", async () =>
    Promise.all(peers.map((p) => p.run(rangeCommand))),
  );

  for (const p of peers) await p.stop();
  const orphans = node.chain.orphans;
  await node.stop();
  rmSync(dir, { recursive: true, force: true });

  const cpu = cpus()[0]?.model ?? "unknown CPU";
  console.log(
    `\n${cpus().length} × ${cpu}, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end; ` +
      `${SECONDS} s per scenario, ${SLOT_MS} ms slots, one validator, ${STORE === "memory" ? "in-memory store" : "LevelDB store"}. Orphan pool at the end: ${orphans.size} blocks, ${(orphans.bytes / 1024).toFixed(0)} KiB.\n`,
  );
  console.log(
    "| scenario | published by the flooder (/s) | reached the node (/s) | reached its handlers | flooder's gossip score | RSS MiB before / peak / after | heap MiB before / peak / after | event-loop delay p99 / max | forged / slots |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows) {
    console.log(
      `| ${r.scenario} | ${r.sent} (${Math.round(r.perSecond)}) | ${r.received} | ${r.handled} | ${r.score} | ${r.rss.join(" / ")} | ${r.heap.join(" / ")} | ` +
        `${r.loop.p99.toFixed(0)} / ${r.loop.max.toFixed(0)} ms | ${r.forged} / ${r.slots} |`,
    );
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
