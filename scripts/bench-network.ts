/**
 * Network benchmark: 10 validator nodes in one process, real libp2p (TCP on loopback, noise, yamux,
 * gossipsub), nothing mocked.
 *
 *   npm run bench:network            (tsx scripts/bench-network.ts)
 *
 * For each slot length tried it runs a fresh 10-node devnet for 100 slots and reports:
 * 1. Block propagation: from the moment the winner publishes its block (its network's `publish` on
 *    the blocks topic, the issue's "publish → validated import") to the "block" event (validated and
 *    imported, source gossip) at each other node. All nodes share one process, so one
 *    `performance.now()` clock. Also from the moment the forger commits to the slot (its
 *    last-signed-slot write, before it builds and signs): the latency a slot's winner adds on top.
 * 2. Raw gossipsub latency in the same run, between the same nodes and over the same connections:
 *    each node also subscribes to a benchmark topic whose handler just accepts; once a slot a node
 *    publishes a message of a block's size there, at a random point of the slot. (CardioNode keeps
 *    its network private; the script reads it from the node object. Only the topic is extra.)
 *    Target: propagation p99 ≤ 1.5 × raw p99.
 * 3. Whether one chain filled every slot of the 100-slot window (all 10 proposers are online, so
 *    every slot should have a canonical block), and that all 10 nodes hold that same chain.
 *    Target: 10 nodes keep one chain at 500 ms slots. Shorter slots are tried until one fails.
 */
import { setMaxListeners } from "node:events";
import { cpus, loadavg } from "node:os";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import {
  addressFromPublicKey,
  createDevnet,
  decodeBlock,
  encodeBlock,
  type Genesis,
  type KeyPair,
  lotteryWinner,
} from "@cardio/core";
import {
  type CardioNode,
  createChainStore,
  createMemoryKvStore,
  createNode,
} from "../packages/node/src/index.js";
import type { Network } from "../packages/node/src/network/index.js";
import { waitFor } from "../test/helpers/waitFor.js";

const NODES = 10;
const SLOTS = 100;
/** Slot lengths tried, in order, until one fails twice; 1000 ms is tried (once) only if 500 ms fails. */
const SLOT_LENGTHS = [500, 300, 200, 150, 100];
/** Runs per slot length: a failed run is repeated once, to tell a one-off stall from a limit. */
const ATTEMPTS = 2;

// Each node's sync polls all 9 peers' status at once, and every request links an abort listener to the
// network's lifetime signal (reqresp.ts `linkedSignal`, removed when the request ends): with 10 nodes
// that passes Node's leak heuristic of 10 listeners and prints a warning per node. Not a leak.
setMaxListeners(64);

interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const rank = (q: number) =>
    s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
  return { n: s.length, p50: rank(0.5), p99: rank(0.99), max: s[s.length - 1] ?? Number.NaN };
}

const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : "n/a");

interface RunResult {
  slotMs: number;
  window: [number, number];
  filled: number;
  missed: number[];
  /** Why each missed slot is empty. */
  missedWhy: string[];
  agreed: boolean;
  sideBlocks: number;
  propagation: Stats;
  /** The same receptions, timed from the forger's commitment to the slot (before build and sign). */
  propagationFromForge: Stats;
  /** Per block: until the last of the 9 other nodes imported it. */
  propagationAll: Stats;
  notViaGossip: number;
  raw: Stats;
  rawLost: number;
  blockBytes: number;
  /** Event-loop delay over the window (ms): p99 and max. High values mean the process was starved. */
  loopDelay: { p99: number; max: number };
  /** 1-minute load average of the machine at the start and end of the run. */
  load: [number, number];
  /** CPU time this process used over the window, as a share of one core. */
  cpuShare: number;
  /** Mean time of one gossip block's decode + validation + import at one node (cardio_block_import_seconds). */
  importMs: number;
}

/** Sum and count of `cardio_block_import_seconds` over all nodes. */
async function importSeconds(nodes: CardioNode[]): Promise<{ sum: number; count: number }> {
  let sum = 0;
  let count = 0;
  for (const n of nodes) {
    const metric = n.metrics.getSingleMetric("cardio_block_import_seconds");
    if (metric === undefined) continue;
    for (const v of (await metric.get()).values) {
      const name = (v as { metricName?: string }).metricName;
      if (name === "cardio_block_import_seconds_sum") sum += v.value;
      if (name === "cardio_block_import_seconds_count") count += v.value;
    }
  }
  return { sum, count };
}

/** The node's libp2p network: private in CardioNode, read here for the raw-gossip baseline only. */
function networkOf(node: CardioNode): Network {
  const net = (node as unknown as { network?: Network }).network;
  if (net === undefined || typeof net.onMessage !== "function") {
    throw new Error("this CardioNode does not hold its network in `network`; update bench-network.ts");
  }
  return net;
}

async function runNetwork(slotMs: number): Promise<RunResult> {
  const startDelayMs = 3000;
  const { genesis, keys } = createDevnet({
    seed: `bench-network-${process.pid}-${slotMs}`,
    validators: NODES,
    chainId: `bench-net-${process.pid}-${slotMs}`,
    genesisTime: Date.now() + startDelayMs,
    slotMs,
  });
  const forgeStart = new Map<string, number>(); // `${address}:${slot}` → performance.now()
  const publishStart = new Map<string, number>(); // `${address}:${slot}` → performance.now()
  const imports: Array<{
    node: number;
    hash: string;
    slot: number;
    proposer: string;
    source: string;
    t: number;
  }> = [];
  const slotsSeen = new Map<string, number>(); // `${node}:${slot}` → performance.now() of the slot event
  const rawSent = new Map<number, { from: number; t: number }>();
  const rawRecv: Array<{ seq: number; node: number; t: number }> = [];
  const rawTopic = `/cardio/${genesis.chainId}/bench-raw/1`;
  const nodes: CardioNode[] = [];
  const nets: Network[] = [];

  try {
    for (let i = 0; i < NODES; i++) {
      const node = startable(genesis, keys[i]!, nodes, forgeStart);
      node.events.on("block", (e) => imports.push({ node: i, ...e, t: performance.now() }));
      node.events.on("slot", (e) => slotsSeen.set(`${i}:${e.slot}`, performance.now()));
      await node.start();
      nodes.push(node);
      const net = networkOf(node);
      const publish = net.publish.bind(net);
      net.publish = (topic, data) => {
        if (topic === net.topics.blocks) {
          const t = performance.now(); // before decoding, which is the benchmark's, not the node's
          publishStart.set(`${node.peerId}:${decodeBlock(data).header.slot}`, t);
        }
        return publish(topic, data);
      };
      net.onMessage(rawTopic, (data) => {
        rawRecv.push({
          seq: new DataView(data.buffer, data.byteOffset).getUint32(0),
          node: i,
          t: performance.now(),
        });
        return "accept";
      });
      nets.push(net);
    }
    // Ready when every node sees every other one subscribed to both the blocks and the raw topic.
    await waitFor(
      () =>
        nets.every((net) =>
          nets.every(
            (o) =>
              o === net ||
              (net.subscribers(net.topics.blocks).includes(o.peerId) &&
                net.subscribers(rawTopic).includes(o.peerId)),
          ),
        ),
      {
        timeoutMs: 60_000,
        what: () =>
          `all 10 nodes connected and subscribed (peers per node ${nets.map((n) => n.peers().length).join(",")}; machine load ${loadavg()[0]!.toFixed(1)})`,
      },
    );
    const load0 = loadavg()[0]!;
    const first = Math.max(nodes[0]!.status().currentSlot, 0) + 2;
    const last = first + SLOTS - 1;

    // Raw gossip: one message per slot of the window, at a random point of the slot, from node k mod 10.
    await waitFor(() => nodes[0]!.status().currentSlot >= first, { timeoutMs: 10_000 + 3 * slotMs });
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    const import0 = await importSeconds(nodes);
    const blockBytes = encodeBlock(nodes[0]!.head().block!).length;
    let seq = 0;
    const timers = new Set<NodeJS.Timeout>();
    const publishRaw = () => {
      const k = seq++;
      const from = k % NODES;
      const data = new Uint8Array(blockBytes);
      crypto.getRandomValues(data);
      new DataView(data.buffer).setUint32(0, k);
      rawSent.set(k, { from, t: performance.now() });
      void nets[from]!.publish(rawTopic, data);
    };
    for (let s = 0; s < SLOTS; s++) {
      const start = genesis.genesisTime + (first + s) * slotMs;
      const at = start + Math.random() * slotMs - Date.now();
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          publishRaw();
        },
        Math.max(0, at),
      );
      timers.add(timer);
    }
    await waitFor(() => nodes[0]!.status().currentSlot > last + 2 && timers.size === 0, {
      timeoutMs: (SLOTS + 20) * slotMs + 10_000,
      intervalMs: 100,
    });
    loop.disable();
    const cpu = process.cpuUsage(cpu0);
    const cpuShare = (cpu.user + cpu.system) / 1000 / (performance.now() - wall0);
    const import1 = await importSeconds(nodes);
    const importMs = ((import1.sum - import0.sum) / Math.max(1, import1.count - import0.count)) * 1000;

    // The window's chain, as node 0 holds it once all nodes agree on it.
    let top = nodes[0]!.head();
    while (top.slot > last) top = nodes[0]!.chain.get(top.parentHash)!;
    const height = top.height;
    let agreed = true;
    try {
      await waitFor(() => nodes.every((n) => n.chain.tree.canonicalAt(height)?.hashHex === top.hashHex), {
        timeoutMs: 5_000,
        what: "every node on node 0's chain",
      });
    } catch {
      agreed = false;
    }
    const canonical = new Map<number, string>(); // slot → hash
    for (let n = top; n.height > 0 && n.slot >= first; n = nodes[0]!.chain.get(n.parentHash)!) {
      canonical.set(n.slot, n.hashHex);
    }
    const missed: number[] = [];
    for (let s = first; s <= last; s++) if (!canonical.has(s)) missed.push(s);
    // For each empty slot: who won it on the chain's block before it, and what that node did.
    const missedWhy = missed.map((s) => {
      let parent = top;
      while (parent.slot >= s) parent = nodes[0]!.chain.get(parent.parentHash)!;
      const winner = lotteryWinner(parent.state, parent.hash, s, genesis.minStake)!;
      const address = addressFromPublicKey(winner.publicKey);
      const w = nodes.findIndex((n) => n.peerId === address);
      if (forgeStart.has(`${address}:${s}`))
        return `slot ${s}: node ${w} forged it, but its block lost the fork`;
      if (!slotsSeen.has(`${w}:${s}`))
        return `slot ${s}: node ${w}'s slot timer fired after the slot ended (skipped)`;
      return `slot ${s}: node ${w} did not forge it (its head had moved on, or it was syncing)`;
    });
    const windowBlocks = new Set(imports.filter((e) => e.slot >= first && e.slot <= last).map((e) => e.hash));
    const sideBlocks = [...windowBlocks].filter((h) => ![...canonical.values()].includes(h)).length;

    // Propagation of every block forged in the window (canonical or not) to each other node.
    const samples: number[] = [];
    const fromForge: number[] = [];
    const perBlock: number[] = [];
    let notViaGossip = 0;
    for (const hash of windowBlocks) {
      const local = imports.find((e) => e.hash === hash && e.source === "local");
      if (local === undefined) continue;
      const t0 = publishStart.get(`${local.proposer}:${local.slot}`);
      const tForge = forgeStart.get(`${local.proposer}:${local.slot}`);
      if (t0 === undefined || tForge === undefined)
        throw new Error(`no forge or publish time for ${local.proposer} slot ${local.slot}`);
      let worst = 0;
      for (let i = 0; i < NODES; i++) {
        if (i === local.node) continue;
        const got = imports.find((e) => e.hash === hash && e.node === i);
        if (got === undefined || got.source !== "gossip") {
          notViaGossip++;
          continue;
        }
        samples.push(got.t - t0);
        fromForge.push(got.t - tForge);
        worst = Math.max(worst, got.t - t0);
      }
      perBlock.push(worst);
    }
    const rawSamples: number[] = [];
    let rawLost = 0;
    for (const [k, sent] of rawSent) {
      for (let i = 0; i < NODES; i++) {
        if (i === sent.from) continue;
        const got = rawRecv.find((r) => r.seq === k && r.node === i);
        if (got === undefined) rawLost++;
        else rawSamples.push(got.t - sent.t);
      }
    }
    return {
      slotMs,
      window: [first, last],
      filled: canonical.size,
      missed,
      missedWhy,
      agreed,
      sideBlocks,
      propagation: stats(samples),
      propagationFromForge: stats(fromForge),
      propagationAll: stats(perBlock),
      notViaGossip,
      raw: stats(rawSamples),
      rawLost,
      blockBytes,
      loopDelay: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      load: [load0, loadavg()[0]!],
      cpuShare,
      importMs,
    };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    stillRunning.push(...nodes.filter((n) => n.isRunning()).map((n) => n.peerId));
  }
}

/** Nodes whose `stop()` returned while they still reported running (checked after every run). */
const stillRunning: string[] = [];

/** Runs `runNetwork` and checks every node it started has stopped. */
async function run(slotMs: number): Promise<RunResult> {
  const result = await runNetwork(slotMs);
  if (stillRunning.length > 0) throw new Error(`nodes did not stop: ${stillRunning.join(", ")}`);
  return result;
}

/** A node with an in-memory store that notes when its forger commits to a slot (just before signing). */
function startable(genesis: Genesis, key: KeyPair, running: CardioNode[], forgeStart: Map<string, number>) {
  const store = createChainStore(createMemoryKvStore());
  const setLastSignedSlot = store.setLastSignedSlot.bind(store);
  const node = createNode({
    genesis,
    key,
    store,
    mdns: false,
    bootstrap: running.map((n) => n.multiaddrs()[0]!),
    slotLog: false,
  });
  store.setLastSignedSlot = (slot: number) => {
    forgeStart.set(`${node.peerId}:${slot}`, performance.now());
    return setLastSignedSlot(slot);
  };
  return node;
}

function report(r: RunResult): void {
  const ratio = r.propagation.p99 / r.raw.p99;
  console.log(`\n== ${NODES} nodes, ${r.slotMs} ms slots, window slots ${r.window[0]}-${r.window[1]} ==`);
  console.log(
    `  chain: ${r.filled}/${SLOTS} slots filled, missed ${r.missed.length}; side-branch blocks ${r.sideBlocks}; all nodes on one chain: ${r.agreed ? "yes" : "NO"}`,
  );
  for (const why of r.missedWhy) console.log(`    missed ${why}`);
  console.log(
    `  block propagation (${r.blockBytes} B, publish → validated import, n=${r.propagation.n}): p50 ${ms(r.propagation.p50)}  p99 ${ms(r.propagation.p99)}  max ${ms(r.propagation.max)}${r.notViaGossip > 0 ? `  (${r.notViaGossip} imports not via gossip)` : ""}`,
    `  the same from the forger's commitment (before build and sign): p50 ${ms(r.propagationFromForge.p50)}  p99 ${ms(r.propagationFromForge.p99)}  max ${ms(r.propagationFromForge.max)}`,
  );
  console.log(
    `  block at all 9 other nodes (per block, n=${r.propagationAll.n}): p50 ${ms(r.propagationAll.p50)}  p99 ${ms(r.propagationAll.p99)}  max ${ms(r.propagationAll.max)}`,
  );
  console.log(
    `  raw gossipsub (${r.blockBytes} B, publish → handler, n=${r.raw.n}, lost ${r.rawLost}): p50 ${ms(r.raw.p50)}  p99 ${ms(r.raw.p99)}  max ${ms(r.raw.max)}`,
  );
  console.log(
    `  propagation p99 / raw p99 = ${ratio.toFixed(2)} (target ≤ 1.5: ${ratio <= 1.5 ? "met" : "NOT met"})`,
  );
  console.log(
    `  mean gossip block import (decode + validate + store, one node): ${ms(r.importMs)}; the 9 receivers share this process's one thread`,
  );
  console.log(
    `  this process: ${(r.cpuShare * 100).toFixed(0)} % of one core; event-loop delay p99 ${ms(r.loopDelay.p99)}, max ${ms(r.loopDelay.max)}; machine load average ${r.load[0].toFixed(2)} → ${r.load[1].toFixed(2)} on ${cpus().length} cores`,
  );
}

const ok = (r: RunResult) => r.agreed && r.missed.length === 0;

async function main(): Promise<void> {
  const began = Date.now();
  console.log(
    `bench:network — ${NODES} nodes in one process (Node ${process.version}, ${cpus().length} cores), TCP on 127.0.0.1, noise, yamux, gossipsub; ${SLOTS}-slot window per run`,
  );
  const results: RunResult[] = [];
  const tryLength = async (slotMs: number, attempts = ATTEMPTS): Promise<boolean> => {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const r = await run(slotMs);
      results.push(r);
      report(r);
      if (ok(r)) return true;
    }
    return false;
  };
  let passed500 = false;
  for (const slotMs of SLOT_LENGTHS) {
    const passed = await tryLength(slotMs);
    if (slotMs === 500) passed500 = passed;
    if (!passed) break;
  }
  // One run only: 100 slots of 1000 ms take as long as two of 500 ms (keeps the benchmark near 5 minutes).
  if (!passed500) await tryLength(1000, 1);

  const shortest = results.filter(ok).sort((a, b) => a.slotMs - b.slotMs)[0];
  const at500 = results.find((r) => r.slotMs === 500)!;
  console.log("\n== summary ==");
  console.log(
    `  propagation (first 500 ms run): p50 ${ms(at500.propagation.p50)}, p99 ${ms(at500.propagation.p99)}, max ${ms(at500.propagation.max)}; raw gossipsub p50 ${ms(at500.raw.p50)}, p99 ${ms(at500.raw.p99)}, max ${ms(at500.raw.max)}; ratio of p99s ${(at500.propagation.p99 / at500.raw.p99).toFixed(2)} (target ≤ 1.5)`,
  );
  console.log(
    `  runs: ${results.map((r) => `${r.slotMs} ms ${ok(r) ? "filled" : `missed ${r.missed.length}`}`).join(", ")}`,
  );
  console.log(
    `  shortest slot at which ${NODES} nodes filled all ${SLOTS} slots on one chain: ${shortest === undefined ? "none" : `${shortest.slotMs} ms`}; 500 ms target ${passed500 ? "met" : "NOT met"}`,
  );
  console.log(`  total time ${((Date.now() - began) / 1000).toFixed(0)} s`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
