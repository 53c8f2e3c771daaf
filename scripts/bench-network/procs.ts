/**
 * bench-network.ts's one-process-per-node mode (BENCH_PROCS=1 or --procs): this process creates the
 * devnet and runs each of the 10 nodes in a child process of its own (nodeProcess.ts, started with
 * this process's node and loader flags, e.g. tsx's), as validators are deployed. It drives them over
 * IPC (protocol.ts): start one after the other (each bootstrapping to the ones before it), wait until
 * every node sees every other subscribed to both topics, open the window, hand each node its share
 * of the raw messages (message k from node k mod 10, at a random point of slot first + k), close the
 * window, collect every node's records (CLOCK_MONOTONIC times) and chain, stop them. The figures are
 * computed by the same code as in one process (shared.ts).
 *
 * Children never outlive this process: they exit when their IPC channel closes, and an `exit` handler
 * here SIGKILLs any still running. A child that has not exited some seconds after `stop` is killed
 * and reported as an error.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { genesisHash, genesisToJson, slotAt, slotStart, toHex } from "@cardio/core";
import type { Command, Loaded, NodeRecords, Reply, Requests, WindowFigures } from "./protocol.js";
import {
  benchDevnet,
  explainMissed,
  NODES,
  type ProcessFigures,
  propagationFigures,
  type RunResult,
  receptionSplit,
  SLOTS,
  windowChain,
} from "./shared.js";

const CHILD_SCRIPT = fileURLToPath(new URL("./nodeProcess.ts", import.meta.url));
/** Time allowed for every child to load its modules (tsx compiles on first use; the machine may be busy). */
const LOAD_TIMEOUT_MS = 120_000;
/** Time allowed for a child to exit after `stop` before it is SIGKILLed. */
const STOP_DEADLINE_MS = 20_000;

/** Every child process started and not yet seen to exit: killed if this process exits first. */
const live = new Set<ChildProcess>();
let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on("exit", () => {
    for (const c of live) c.kill("SIGKILL");
  });
  // Without handlers these signals end the process without its `exit` event.
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1)));
  }
}

/** ms on CLOCK_MONOTONIC, as the node processes time their events. */
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** One node process and its request/reply channel. */
class NodeProc {
  readonly child: ChildProcess;
  readonly loaded: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();

  constructor(readonly index: number) {
    this.child = spawn(process.execPath, [...process.execArgv, CHILD_SCRIPT], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    live.add(this.child);
    // A failed spawn, or a send on a channel that has just closed: answered requests fail, nothing crashes.
    this.child.on("error", (err) => {
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`node process ${index}: ${err.message}`));
      }
      this.pending.clear();
    });
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        live.delete(this.child);
        this.exit = { code, signal };
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new Error(`node process ${index} exited (code ${code}, signal ${signal})`));
        }
        this.pending.clear();
        resolve({ code, signal });
      });
    });
    this.loaded = new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`node process ${index} did not load within ${LOAD_TIMEOUT_MS} ms`)),
        LOAD_TIMEOUT_MS,
      );
      this.child.on("message", (msg: Reply | Loaded) => {
        if ("type" in msg && msg.type === "loaded") {
          clearTimeout(timer);
          resolve();
          return;
        }
        if (!("id" in msg)) return;
        const p = this.pending.get(msg.id);
        if (p === undefined) return;
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(new Error(`node process ${index}: ${msg.error}`));
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`node process ${index} exited before it loaded`));
      });
    });
    this.loaded.catch(() => {}); // awaited by the caller; no unhandled rejection if it never is
  }

  request<C extends Command>(
    cmd: C,
    args: Requests[C]["args"],
    timeoutMs = 30_000,
  ): Promise<Requests[C]["result"]> {
    return new Promise((resolve, reject) => {
      if (this.exit !== undefined) {
        reject(new Error(`node process ${this.index} has exited`));
        return;
      }
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`node process ${this.index}: no answer to ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ id, cmd, ...args });
    });
  }
}

/** Sends `stop` to every process, waits for each to exit, SIGKILLs the ones that do not; returns the errors. */
async function stopAll(procs: NodeProc[]): Promise<string[]> {
  const errors: string[] = [];
  await Promise.all(
    procs.map(async (p) => {
      if (p.exit === undefined) {
        try {
          const { stillRunning } = await p.request("stop", {}, STOP_DEADLINE_MS);
          if (stillRunning) errors.push(`node ${p.index}: still running after stop()`);
        } catch (err) {
          errors.push(`node ${p.index}: stop failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      const deadline = sleep(STOP_DEADLINE_MS).then(() => "timeout" as const);
      if ((await Promise.race([p.exited, deadline])) === "timeout") {
        p.child.kill("SIGKILL");
        errors.push(
          `node ${p.index} (pid ${p.child.pid}) had not exited ${STOP_DEADLINE_MS} ms after stop: SIGKILLed`,
        );
        await p.exited;
        return;
      }
      const { code, signal } = p.exit!;
      if (code !== 0)
        errors.push(`node ${p.index} (pid ${p.child.pid}) exited with code ${code}, signal ${signal}`);
    }),
  );
  return errors;
}

export async function runProcsNetwork(slotMs: number): Promise<RunResult> {
  hookExit();
  const procs: NodeProc[] = [];
  let stopErrors: string[] | undefined;
  try {
    for (let i = 0; i < NODES; i++) procs.push(new NodeProc(i));
    // Loading modules in parallel is the slow part of a process start: the devnet's clock starts after it.
    await Promise.all(procs.map((p) => p.loaded));

    const { genesis, keys } = benchDevnet(slotMs);
    const genesisJson = genesisToJson(genesis);
    const expectedHash = toHex(genesisHash(genesis));
    const rawTopic = `/cardio/${genesis.chainId}/bench-raw/1`;
    const peerIds: string[] = [];
    const multiaddrs: string[] = [];
    for (let i = 0; i < NODES; i++) {
      const started = await procs[i]!.request("start", {
        index: i,
        genesis: genesisJson,
        seedHex: toHex(keys[i]!.seed),
        bootstrap: [...multiaddrs],
        rawTopic,
      });
      if (started.genesisHash !== expectedHash) {
        throw new Error(`node ${i} built genesis ${started.genesisHash}, expected ${expectedHash}`);
      }
      peerIds.push(started.peerId);
      multiaddrs.push(started.multiaddr);
    }

    // Ready when every node sees every other one subscribed to both the blocks and the raw topic.
    const readyDeadline = Date.now() + 60_000;
    for (;;) {
      const states = await Promise.all(procs.map((p) => p.request("ready", { peerIds })));
      if (states.every((s) => s.ready)) break;
      if (Date.now() > readyDeadline) {
        throw new Error(
          `timed out after 60000 ms waiting for all 10 nodes connected and subscribed (peers per node ${states.map((s) => s.peers).join(",")}; machine load ${loadavg()[0]!.toFixed(1)})`,
        );
      }
      await sleep(50);
    }
    const load0 = loadavg()[0]!;
    const { currentSlot } = await procs[0]!.request("slot", {});
    const first = Math.max(currentSlot, 0) + 2;
    const last = first + SLOTS - 1;

    await sleep(slotStart(genesis, first) - Date.now());
    while (slotAt(genesis, Date.now()) < first) await sleep(5);
    // Wall clock (the slot clocks) minus CLOCK_MONOTONIC (the event times): the same in every process;
    // sampled over the window, its range shows any step or slew of the wall clock the slots followed.
    const offsets = { min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY };
    const sampleOffset = () => {
      const o = Date.now() - monoMs();
      offsets.min = Math.min(offsets.min, o);
      offsets.max = Math.max(offsets.max, o);
      return o;
    };
    const offsetTimer = setInterval(sampleOffset, 20);
    const begun = await Promise.all(procs.map((p) => p.request("begin", {})));
    const blockBytes = begun[0]!.blockBytes;
    // Raw gossip: one message per slot of the window, at a random point of the slot, from node k mod 10.
    const schedules = procs.map(() => [] as Array<{ seq: number; at: number }>);
    for (let s = 0; s < SLOTS; s++) {
      const at = slotStart(genesis, first + s) + Math.random() * slotMs;
      schedules[s % NODES]!.push({ seq: s, at });
    }
    await Promise.all(procs.map((p, i) => p.request("raw", { bytes: blockBytes, schedule: schedules[i]! })));

    await sleep(slotStart(genesis, last + 3) - Date.now());
    while (slotAt(genesis, Date.now()) <= last + 2) await sleep(5);
    const figures: WindowFigures[] = await Promise.all(procs.map((p) => p.request("end", {})));
    clearInterval(offsetTimer);
    const offset = sampleOffset();
    for (const [i, f] of figures.entries()) {
      if (f.rawPending > 0)
        console.log(`  WARNING node ${i}: ${f.rawPending} raw sends still pending at the end`);
    }
    const load1 = loadavg()[0]!;
    const records: NodeRecords[] = await Promise.all(procs.map((p) => p.request("records", {})));

    // The window's chain, as node 0 holds it once all nodes agree on it.
    const top = await procs[0]!.request("top", { last });
    let agreed = false;
    const agreeDeadline = Date.now() + 5_000;
    while (!agreed && Date.now() < agreeDeadline) {
      const at = await Promise.all(procs.map((p) => p.request("canonicalAt", { height: top.height })));
      agreed = at.every((h) => h === top.hash);
      if (!agreed) await sleep(50);
    }
    const chain = await procs[0]!.request("chain", { topHash: top.hash, first, last });
    const canonical = new Map<number, string>(chain.canonical);

    const forgeStart = new Map<string, number>(records.flatMap((r) => r.forgeStart));
    const publishStart = new Map<string, number>(records.flatMap((r) => r.publishStart));
    const slotsSeen = records.map((r) => new Set(r.slotsSeen));
    const imports = records.flatMap((r) => r.imports);
    /** ms from the start of `slot` (wall clock) to monotonic time `t`. */
    const intoSlot = (t: number, slot: number) => t + offset - slotStart(genesis, slot);
    const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(0)} ms`;
    // When the winner forged (into its slot), when it had the chain's previous block, and when the
    // others had its block (against the next slot's start); and how many nodes saw the slot begin.
    const missedDetail = (s: number, w: number, address: string): string => {
      const parts = [`slot event at ${slotsSeen.filter((seen) => seen.has(s)).length}/${NODES} nodes`];
      const forged = forgeStart.get(`${address}:${s}`);
      if (forged !== undefined) parts.push(`forged at ${signed(intoSlot(forged, s))} into the slot`);
      const prevSlot = Math.max(...[...canonical.keys()].filter((k) => k < s), Number.NEGATIVE_INFINITY);
      const prevHash = canonical.get(prevSlot);
      const prevAtW = imports.find((e) => e.node === w && e.hash === prevHash);
      if (prevAtW !== undefined) {
        parts.push(
          `node ${w} had the previous block (slot ${prevSlot}) at ${signed(intoSlot(prevAtW.t, s))}`,
        );
      }
      const own = imports.find((e) => e.node === w && e.slot === s && e.source === "local");
      if (own !== undefined) {
        const others = imports.filter((e) => e.hash === own.hash && e.node !== w);
        const latest = Math.max(...others.map((e) => e.t));
        parts.push(
          `its block reached ${others.length}/${NODES - 1} others, the last at ${others.length === 0 ? "n/a" : signed(intoSlot(latest, s + 1))} into slot ${s + 1}`,
        );
      }
      return parts.join(", ");
    };
    // For each empty slot: who won it on the chain's block before it, and what that node did.
    const winners = new Map(chain.winners);
    const why = (s: number) => {
      const address = winners.get(s)!;
      const w = peerIds.indexOf(address);
      const explained = explainMissed(
        s,
        w,
        address,
        forgeStart,
        (node, slot) => slotsSeen[node]?.has(slot) === true,
      );
      return `${explained}; ${missedDetail(s, w, address)}`;
    };

    const importSum = figures.reduce((a, f) => a + f.importSum, 0);
    const importCount = figures.reduce((a, f) => a + f.importCount, 0);
    const processes: ProcessFigures[] = figures.map((f, i) => ({
      node: i,
      pid: f.pid,
      peakRssMb: f.peakRssMb,
      rssMb: f.rssMb,
      cpuShare: f.cpuShare,
      loopDelay: f.loopDelay,
    }));
    const propagation = propagationFigures(
      {
        imports,
        forgeStart,
        publishStart,
        rawSent: records.flatMap((r) => r.rawSent).sort((a, b) => a.seq - b.seq),
        rawRecv: records.flatMap((r) => r.rawRecv),
      },
      [first, last],
      canonical,
    );

    stopErrors = await stopAll(procs);
    return {
      mode: "procs",
      ...windowChain(slotMs, [first, last], canonical, agreed, why),
      ...propagation,
      split: receptionSplit(
        { imports, publishStart },
        records.flatMap((r) => r.arrivals),
        [first, last],
        propagation.propagation.p99,
      ),
      blockBytes,
      loopDelay: {
        p99: Math.max(...figures.map((f) => f.loopDelay.p99)),
        max: Math.max(...figures.map((f) => f.loopDelay.max)),
      },
      load: [load0, load1],
      cpuShare: figures.reduce((a, f) => a + f.cpuShare, 0),
      importMs: (importSum / Math.max(1, importCount)) * 1000,
      processes,
      stopErrors,
      clockOffsetRangeMs: offsets.max - offsets.min,
    };
  } finally {
    // On any failure above: stop what was started (a clean stop if they answer, else SIGKILL).
    if (stopErrors === undefined) {
      const errors = await stopAll(procs);
      for (const e of errors) console.error(`  ERROR stopping node processes: ${e}`);
    }
  }
}
