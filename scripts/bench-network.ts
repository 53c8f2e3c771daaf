/**
 * Network benchmark: 10 validator nodes, real libp2p (TCP on loopback, noise, yamux, gossipsub),
 * nothing mocked; one process per node (default) or all in one process.
 *
 *   npm run bench:network                      (tsx scripts/bench-network.ts): one process per node
 *   npm run bench:network:inprocess            all nodes in this process (`--in-process`, BENCH_PROCS=0)
 *   BENCH_SLOTS_MS=500 npm run bench:network   only these slot lengths (comma list: 500,200), either mode
 *   BENCH_WINDOW_SLOTS=100, BENCH_GOSSIP_D=4   slots per window (default 300); every node's mesh degree
 *   BENCH_STORE=memory                         in-memory stores (default: LevelDB and the block journal
 *                                              in a temporary directory per node, as `cardio start`)
 *
 * Modes. By default (since session 6; `--procs` and BENCH_PROCS=1 still say so) each node runs in a
 * child process of its own, as validators are deployed (`cardio start`, docker compose). With
 * `--in-process` (or BENCH_PROCS=0) all 10 nodes share this process, and its one thread: the 9
 * receivers of a block validate it one after another, which a raw message does not pay, so that mode
 * measures the harness's one thread as much as a node. In the default mode
 * scripts/bench-network/procs.ts drives the children, scripts/bench-network/nodeProcess.ts is one node,
 * built by benchNode.ts as in the other mode. This process loads the 10 children, creates the devnet, starts them
 * one after the other, and collects their events at the end of the run; the children time events on
 * `process.hrtime.bigint()` (CLOCK_MONOTONIC, one clock for every process of the machine). The same
 * figures are computed (scripts/bench-network/shared.ts) and printed, labelled "one process per node",
 * with each process's peak RSS, CPU share and event-loop delay, and each gossip reception split at
 * its arrival at the receiver's blocks handler (transport vs. the receiver's validation and import).
 *
 * For each slot length tried it runs a fresh 10-node devnet for a window of 300 slots
 * (BENCH_WINDOW_SLOTS) and reports:
 * 1. Block propagation: from the moment the winner publishes its block (its network's `publish` on
 *    the blocks topic, the "publish → validated import") to the "block" event (validated and
 *    imported, source gossip) at each other node. In one process all nodes share one
 *    `performance.now()` clock (one process per node: CLOCK_MONOTONIC). Also from the moment the
 *    forger commits to the slot (its last-signed-slot write, before it builds and signs): the latency a
 *    slot's winner adds on top.
 * 2. Raw gossipsub latency in the same run, between the same nodes and over the same connections:
 *    each node also subscribes to a benchmark topic whose handler just accepts; once a slot a node
 *    publishes a message of a block's size there, at a random point of the slot. (CardioNode keeps
 *    its network private; the script reads it from the node object. Only the topic is extra.)
 *    Target: propagation p99 ≤ 1.5 × raw p99.
 * 3. Whether one chain filled every slot of the window (all 10 proposers are online, so
 *    every slot should have a canonical block), and that all 10 nodes hold that same chain.
 *    Target: 10 nodes keep one chain at 500 ms slots. Shorter slots are tried until one fails.
 */
import { setMaxListeners } from "node:events";
import { cpus, loadavg } from "node:os";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { addressFromPublicKey, decodeBlock, encodeBlock, lotteryWinner } from "@cardio/core";
import type { CardioNode } from "../packages/node/src/index.js";
import type { Network } from "../packages/node/src/network/index.js";
import { waitFor } from "../test/helpers/waitFor.js";
import { createBenchNode } from "./bench-network/benchNode.js";
import { importSeconds, networkOf } from "./bench-network/nodeAccess.js";
import { runProcsNetwork } from "./bench-network/procs.js";
import {
  benchDevnet,
  explainMissed,
  gossipDFromEnv,
  type ImportRecord,
  NODES,
  propagationFigures,
  type RawReceive,
  type RawSend,
  type RunResult,
  SLOTS,
  searchSlotLengths,
  windowChain,
} from "./bench-network/shared.js";

const gossipD = gossipDFromEnv();

// Each node's sync polls all 9 peers' status at once, and every request links an abort listener to the
// network's lifetime signal (reqresp.ts `linkedSignal`, removed when the request ends): with 10 nodes
// that passes Node's leak heuristic of 10 listeners and prints a warning per node. Not a leak.
setMaxListeners(64);

async function runNetwork(slotMs: number): Promise<RunResult> {
  const { genesis, keys } = benchDevnet(slotMs);
  const forgeStart = new Map<string, number>(); // `${address}:${slot}` → performance.now()
  const publishStart = new Map<string, number>(); // `${address}:${slot}` → performance.now()
  const imports: ImportRecord[] = [];
  const slotsSeen = new Map<string, number>(); // `${node}:${slot}` → performance.now() of the slot event
  const rawSent: RawSend[] = [];
  const rawRecv: RawReceive[] = [];
  const rawTopic = `/cardio/${genesis.chainId}/bench-raw/1`;
  const nodes: CardioNode[] = [];
  const nets: Network[] = [];

  try {
    for (let i = 0; i < NODES; i++) {
      const node = createBenchNode({
        genesis,
        key: keys[i]!,
        index: i,
        bootstrap: nodes.map((n) => n.multiaddrs()[0]!),
        onForgeStart: (peerId, slot) => forgeStart.set(`${peerId}:${slot}`, performance.now()),
      });
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
      rawSent.push({ seq: k, from, t: performance.now() });
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
    // For each empty slot: who won it on the chain's block before it, and what that node did.
    const why = (s: number) => {
      let parent = top;
      while (parent.slot >= s) parent = nodes[0]!.chain.get(parent.parentHash)!;
      const winner = lotteryWinner(parent.state, parent.hash, s, genesis.minStake)!;
      const address = addressFromPublicKey(winner.publicKey);
      const w = nodes.findIndex((n) => n.peerId === address);
      return explainMissed(s, w, address, forgeStart, (node, slot) => slotsSeen.has(`${node}:${slot}`));
    };

    return {
      mode: "in-process",
      ...windowChain(slotMs, [first, last], canonical, agreed, why),
      ...propagationFigures(
        { imports, forgeStart, publishStart, rawSent, rawRecv },
        [first, last],
        canonical,
      ),
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

const inProcess = process.env.BENCH_PROCS === "0" || process.argv.includes("--in-process");
const title = (where: string) =>
  `bench:network — ${NODES} nodes ${where} (Node ${process.version}, ${cpus().length} cores), TCP on 127.0.0.1, noise, yamux, gossipsub (D = ${gossipD ?? "6, the default"}); ${SLOTS}-slot window per run`;

(inProcess
  ? searchSlotLengths(title("in one process"), run)
  : searchSlotLengths(title("one process per node"), runProcsNetwork)
).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
