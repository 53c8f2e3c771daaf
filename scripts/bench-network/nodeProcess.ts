/**
 * One node of bench-network.ts's one-process-per-node mode (BENCH_PROCS=1), spawned by procs.ts with an
 * IPC channel; never run by hand. The node is built by benchNode.ts, as in the one-process mode
 * (memory store, no mDNS, bootstrap to the nodes started before it, no slot log), its network publish
 * is wrapped the same way, and it subscribes the raw benchmark topic.
 * Events are recorded here with CLOCK_MONOTONIC times and handed over at the end (`records`), so
 * nothing but the node runs on this process's thread during the window. See protocol.ts.
 *
 * Exits when the parent says `stop` (after node.stop(), code 0), and when the IPC channel closes
 * (the parent died: code 1), so it never outlives the parent.
 */
import { setMaxListeners } from "node:events";
import { monitorEventLoopDelay } from "node:perf_hooks";
import {
  addressFromPublicKey,
  decodeBlock,
  encodeBlock,
  fromHex,
  genesisHash,
  headerHash,
  keyPairFromSeed,
  lotteryWinner,
  parseGenesis,
  toHex,
} from "@cardio/core";
import type { CardioNode } from "../../packages/node/src/index.js";
import type { Network } from "../../packages/node/src/network/index.js";
import { createBenchNode } from "./benchNode.js";
import { importSeconds, networkOf } from "./nodeAccess.js";
import type { Command, NodeRecords, Reply, Request, Requests, WindowFigures } from "./protocol.js";

// As in bench-network.ts: sync's status polls link one abort listener each to the network's signal.
setMaxListeners(64);

const send = process.send?.bind(process);
if (send === undefined) {
  console.error("nodeProcess.ts is spawned by bench-network.ts (BENCH_PROCS=1) with an IPC channel");
  process.exit(2);
}
// The parent is gone: so is this node.
process.on("disconnect", () => process.exit(1));

/** ms on CLOCK_MONOTONIC, the clock every process of the machine shares. */
const now = () => Number(process.hrtime.bigint()) / 1e6;

let index = -1;
let node: CardioNode | undefined;
let net: Network | undefined;
let rawTopic = "";
const rec: NodeRecords = {
  imports: [],
  forgeStart: [],
  publishStart: [],
  rawSent: [],
  rawRecv: [],
  slotsSeen: [],
  arrivals: [],
};
/** Blocks-topic messages as they reached the handler; hashed only when the records are asked for. */
const arrivals: Array<{ t: number; data: Uint8Array }> = [];
const rawTimers = new Set<NodeJS.Timeout>();
let window:
  | {
      loop: ReturnType<typeof monitorEventLoopDelay>;
      cpu0: NodeJS.CpuUsage;
      wall0: number;
      import0: { sum: number; count: number };
    }
  | undefined;

function running(): { node: CardioNode; net: Network } {
  if (node === undefined || net === undefined) throw new Error("node not started");
  return { node, net };
}

type Handlers = { [C in Command]: (req: Extract<Request, { cmd: C }>) => Promise<Requests[C]["result"]> };

const handlers: Handlers = {
  async start(req) {
    if (node !== undefined) throw new Error("already started");
    index = req.index;
    rawTopic = req.rawTopic;
    const genesis = parseGenesis(req.genesis);
    const key = keyPairFromSeed(fromHex(req.seedHex));
    const n = createBenchNode({
      genesis,
      key,
      index: req.index,
      bootstrap: req.bootstrap,
      onForgeStart: (peerId, slot) => rec.forgeStart.push([`${peerId}:${slot}`, now()]),
    });
    n.events.on("block", (e) => rec.imports.push({ node: index, ...e, t: now() }));
    n.events.on("slot", (e) => rec.slotsSeen.push(e.slot));
    const nw = networkOf(n);
    // The node registers its blocks handler in start(): note when each message reaches it.
    const onMessage = nw.onMessage.bind(nw);
    nw.onMessage = (topic, handler, options) =>
      onMessage(
        topic,
        topic === nw.topics.blocks
          ? (data, from) => {
              arrivals.push({ t: now(), data: data.slice() });
              return handler(data, from);
            }
          : handler,
        options,
      );
    await n.start();
    node = n;
    const publish = nw.publish.bind(nw);
    nw.publish = (topic, data) => {
      if (topic === nw.topics.blocks) {
        const t = now(); // before decoding, which is the benchmark's, not the node's
        rec.publishStart.push([`${n.peerId}:${decodeBlock(data).header.slot}`, t]);
      }
      return publish(topic, data);
    };
    nw.onMessage(rawTopic, (data) => {
      rec.rawRecv.push({
        seq: new DataView(data.buffer, data.byteOffset).getUint32(0),
        node: index,
        t: now(),
      });
      return "accept";
    });
    net = nw;
    return { peerId: n.peerId, multiaddr: n.multiaddrs()[0]!, genesisHash: toHex(genesisHash(genesis)) };
  },

  async ready(req) {
    const { net } = running();
    const blocks = new Set(net.subscribers(net.topics.blocks));
    const raw = new Set(net.subscribers(rawTopic));
    const ready = req.peerIds.every((p) => p === net.peerId || (blocks.has(p) && raw.has(p)));
    return { ready, peers: net.peers().length };
  },

  async begin() {
    const { node } = running();
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    window = { loop, cpu0: process.cpuUsage(), wall0: now(), import0: await importSeconds([node]) };
    return { blockBytes: encodeBlock(node.head().block!).length, currentSlot: node.status().currentSlot };
  },

  async raw(req) {
    const { net } = running();
    for (const { seq, at } of req.schedule) {
      const timer = setTimeout(
        () => {
          rawTimers.delete(timer);
          const data = new Uint8Array(req.bytes);
          crypto.getRandomValues(data);
          new DataView(data.buffer).setUint32(0, seq);
          rec.rawSent.push({ seq, from: index, t: now() });
          void net.publish(rawTopic, data).catch(() => {});
        },
        Math.max(0, at - Date.now()),
      );
      rawTimers.add(timer);
    }
    return null;
  },

  async slot() {
    return { currentSlot: running().node.status().currentSlot };
  },

  async end(): Promise<WindowFigures> {
    const { node } = running();
    if (window === undefined) throw new Error("end without begin");
    const deadline = Date.now() + 5_000;
    while (rawTimers.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const { loop, cpu0, wall0, import0 } = window;
    loop.disable();
    const cpu = process.cpuUsage(cpu0);
    const cpuShare = (cpu.user + cpu.system) / 1000 / (now() - wall0);
    const import1 = await importSeconds([node]);
    return {
      pid: process.pid,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      rssMb: process.memoryUsage().rss / 2 ** 20,
      cpuShare,
      loopDelay: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      importSum: import1.sum - import0.sum,
      importCount: import1.count - import0.count,
      rawPending: rawTimers.size,
    };
  },

  async records() {
    rec.arrivals = [];
    for (const a of arrivals) {
      try {
        rec.arrivals.push({ node: index, hash: toHex(headerHash(decodeBlock(a.data).header)), t: a.t });
      } catch {
        // undecodable: not a block of the run
      }
    }
    return rec;
  },

  async top(req) {
    const { node } = running();
    let top = node.head();
    while (top.slot > req.last) top = node.chain.get(top.parentHash)!;
    return { height: top.height, hash: top.hashHex };
  },

  async canonicalAt(req) {
    return running().node.chain.tree.canonicalAt(req.height)?.hashHex ?? null;
  },

  async chain(req) {
    const { node } = running();
    const top = node.chain.get(req.topHash);
    if (top === undefined) throw new Error(`block ${req.topHash} not held`);
    const canonical = new Map<number, string>();
    for (let n = top; n.height > 0 && n.slot >= req.first; n = node.chain.get(n.parentHash)!) {
      canonical.set(n.slot, n.hashHex);
    }
    const winners: Array<[number, string]> = [];
    for (let s = req.first; s <= req.last; s++) {
      if (canonical.has(s)) continue;
      let parent = top;
      while (parent.slot >= s) parent = node.chain.get(parent.parentHash)!;
      const winner = lotteryWinner(parent.state, parent.hash, s, node.config.minStake)!;
      winners.push([s, addressFromPublicKey(winner.publicKey)]);
    }
    return { canonical: [...canonical], winners };
  },

  async stop() {
    for (const t of rawTimers) clearTimeout(t);
    rawTimers.clear();
    if (node === undefined) return { stillRunning: false };
    await node.stop();
    return { stillRunning: node.isRunning() };
  },
};

process.on("message", (msg: Request) => {
  if (typeof msg !== "object" || msg === null || typeof msg.id !== "number") return;
  const handler = handlers[msg.cmd] as ((req: Request) => Promise<unknown>) | undefined;
  if (handler === undefined) {
    const reply: Reply = { id: msg.id, ok: false, error: `unknown command ${String(msg.cmd)}` };
    send(reply);
    return;
  }
  handler(msg).then(
    (result) => {
      const reply: Reply = { id: msg.id, ok: true, result };
      send(reply, undefined, undefined, () => {
        if (msg.cmd === "stop") process.exit(0);
      });
    },
    (err: unknown) => {
      const reply: Reply = {
        id: msg.id,
        ok: false,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      };
      send(reply);
    },
  );
});

send({ type: "loaded" });
