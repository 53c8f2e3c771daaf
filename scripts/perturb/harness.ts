import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import {
  addressFromPublicKey,
  devnetKeyPair,
  type Genesis,
  type KeyPair,
  parseGenesisJson,
} from "../../packages/core/src/index.js";
import {
  type CardioCommand,
  cleanEnv,
  prepareCardio,
  runCardio,
} from "../../packages/node/test/cli/harness/cardioBinary.js";
import { type AccountJson, fetchChain, getJson, type StatusJson, type TxStatusJson } from "./api.js";
import { type Bundle, bundleDoubleSigner } from "./bundle.js";
import {
  checkAgreement,
  checkLottery,
  checkMissedSlots,
  checkSlashing,
  checkSupply,
  checkTransactions,
  commonHeight,
  type Equivocation,
  missedByWinner,
  type NodeView,
  type Replay,
  replayChain,
} from "./invariants.js";
import { Load } from "./load.js";
import { ManagedProcess } from "./processes.js";
import type { InvariantResult, PerturbationResult, RunReport } from "./report.js";
import { createTopology, type Host, type Topology, type TopologyKind } from "./topology.js";

/*
 * The perturbation harness: real `cardio start` processes (one per validator, each with its own
 * data dir, each in its own network namespace when possible), a transaction load, perturbations
 * applied by a scenario, and invariants checked at the end on every node through its HTTP API.
 * See docs/reliability.md for what is checked and why.
 */

export interface HarnessConfig {
  /** Honest validators (indexes 0..honest-1), each 100 stake unless `stakes`. */
  honest: number;
  stakes?: bigint[];
  /** Honest validators not started at setup (late joiners, started by the scenario). */
  late?: number[];
  /** Stake of a cheating validator (index `honest`), run by the double signer; none when undefined. */
  cheaterStake?: bigint;
  /** Funded accounts (no stake) that send the load. */
  loadAccounts: number;
  slotMs: number;
  /** Mean pause between two transactions of one load account. */
  loadIntervalMs: number;
  topology?: TopologyKind | "auto";
  /** A perturbation holds when one head is back on every running node within this many slots. */
  convergeSlots: number;
  /** Keep the temp dir (data dirs, logs) afterwards. */
  keep?: boolean;
  log?: (line: string) => void;
  profile: string;
}

export interface NodeHandle {
  index: number;
  name: string;
  key: KeyPair;
  address: string;
  host: Host;
  api: string;
  proc: ManagedProcess;
  dataDir: string;
  clockOffsetMs: number;
  /** When its current process's API first answered (ms). */
  upSince?: number;
  /** Height it reported loading from its own store at its last start ("chain loaded from store"). */
  loadedHeight?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Harness {
  readonly cfg: HarnessConfig;
  readonly nodes: NodeHandle[] = [];
  readonly perturbations: PerturbationResult[] = [];
  readonly notes: string[] = [];
  readonly equivocations: Equivocation[] = [];
  genesis!: Genesis;
  load!: Load;
  topology!: Topology;
  dir!: string;
  cheater?: { key: KeyPair; address: string; proc?: ManagedProcess; host?: Host; ready: boolean };
  clockOffsetSupported = false;
  private cardio!: CardioCommand;
  private bundle?: Bundle;
  private seed!: string;
  private t0 = 0;
  private loadKeys: KeyPair[] = [];
  /** Indexes cut off from the rest right now. */
  private readonly cut = new Set<number>();
  private readonly loadSamples: number[] = [];
  private sampler: NodeJS.Timeout | undefined;
  private destroyed = false;

  private constructor(cfg: HarnessConfig) {
    this.cfg = cfg;
  }

  log(line: string): void {
    this.cfg.log?.(`[perturb ${this.elapsed().toFixed(1).padStart(6)} s] ${line}`);
  }

  /** Seconds since the first node started. */
  elapsed(): number {
    return this.t0 === 0 ? 0 : (Date.now() - this.t0) / 1000;
  }

  get slotMs(): number {
    return this.cfg.slotMs;
  }

  static async create(cfg: HarnessConfig): Promise<Harness> {
    const h = new Harness(cfg);
    try {
      await h.setup();
    } catch (err) {
      await h.destroy();
      throw err;
    }
    return h;
  }

  private async setup(): Promise<void> {
    const cfg = this.cfg;
    this.dir = await mkdtemp(join(tmpdir(), "cardio-perturb-"));
    await mkdir(join(this.dir, "logs"));
    this.topology = await createTopology(cfg.topology ?? "auto");
    if (this.topology.kind === "loopback")
      this.notes.push(
        "loopback topology (no root or no `ip netns`): a disconnect is emulated by SIGSTOP for the same time, which is not a partition",
      );
    this.cardio = await prepareCardio();
    const help = await runCardio(this.cardio, ["start", "--help"]);
    this.clockOffsetSupported = help.stdout.includes("--clock-offset-ms");

    const hasCheater = cfg.cheaterStake !== undefined;
    const stakes = [
      ...(cfg.stakes ?? Array.from({ length: cfg.honest }, () => 100n)),
      ...(hasCheater ? [cfg.cheaterStake!] : []),
      ...Array.from({ length: cfg.loadAccounts }, () => 0n),
    ];
    this.seed = `perturb-${process.pid}-${Date.now()}`;
    // Slot 0 ends a few seconds from now: time for the first processes to start and connect.
    const genesisTime = Date.now() + 4000 - cfg.slotMs;
    const gen = await runCardio(this.cardio, [
      "genesis",
      "--validators",
      String(stakes.length),
      "--stake",
      stakes.join(","),
      "--balance",
      "1000000",
      "--slot-ms",
      String(cfg.slotMs),
      "--genesis-time",
      String(genesisTime),
      "--chain-id",
      `perturb-${process.pid.toString(36)}`,
      "--seed",
      this.seed,
      "--out",
      this.dir,
    ]);
    if (gen.code !== 0) throw new Error(`cardio genesis failed: ${gen.stderr}`);
    this.genesis = parseGenesisJson(await readFile(join(this.dir, "genesis.json"), "utf8"));

    for (let i = 0; i < cfg.honest; i++) {
      const key = devnetKeyPair(this.seed, i);
      const host = await this.topology.host(i);
      const node: NodeHandle = {
        index: i,
        name: `v${i}`,
        key,
        address: addressFromPublicKey(key.publicKey),
        host,
        api: `http://${host.apiHost}:${host.apiPort}`,
        dataDir: join(this.dir, `data-${i}`),
        clockOffsetMs: 0,
        proc: undefined as unknown as ManagedProcess,
      };
      node.proc = new ManagedProcess({
        name: node.name,
        host,
        argv: () => [...this.cardio.argv, ...this.startArgs(node)],
        // Stack traces for any process warning (e.g. MaxListenersExceeded) in the node logs.
        env: cleanEnv({ ...this.cardio.env, NODE_OPTIONS: "--trace-warnings" }),
        logFile: join(this.dir, "logs", `${node.name}.log`),
        onLine: (line) => {
          if (!line.includes("chain loaded from store")) return;
          try {
            node.loadedHeight = (JSON.parse(line) as { height?: number }).height;
          } catch {
            // not JSON
          }
        },
      });
      this.nodes.push(node);
    }
    if (hasCheater) {
      const key = devnetKeyPair(this.seed, cfg.honest);
      this.cheater = { key, address: addressFromPublicKey(key.publicKey), ready: false };
    }
    const firstLoad = cfg.honest + (hasCheater ? 1 : 0);
    this.loadKeys = Array.from({ length: cfg.loadAccounts }, (_, j) =>
      devnetKeyPair(this.seed, firstLoad + j),
    );
    this.load = new Load({
      accounts: this.loadKeys,
      chainId: this.genesis.chainId,
      recipients: this.nodes.map((n) => n.key.publicKey),
      targets: () =>
        this.nodes.filter((n) => n.proc.startCount > 0).map((n) => ({ name: n.name, api: n.api })),
      intervalMs: cfg.loadIntervalMs,
      probeAfterMs: 3000,
      // Only while nothing is paused or cut off, and only nodes up for 10 s (not still syncing).
      probeTargets: (acceptedBy) => {
        if (this.cut.size > 0 || this.nodes.some((n) => n.proc.state === "paused")) return undefined;
        return this.running()
          .filter((n) => n.name !== acceptedBy && Date.now() - (n.upSince ?? Date.now()) > 10_000)
          .map((n) => ({ name: n.name, api: n.api }));
      },
    });
  }

  private bootstrapFor(node: NodeHandle | undefined): string[] {
    return this.nodes
      .filter((n) => n !== node)
      .map((n) => `/ip4/${n.host.p2pIp}/tcp/${n.host.p2pPort}/p2p/${n.address}`);
  }

  private startArgs(node: NodeHandle): string[] {
    return [
      "start",
      "--key",
      join(this.dir, `node-${node.index}.key`),
      "--genesis",
      join(this.dir, "genesis.json"),
      "--data-dir",
      node.dataDir,
      "--listen",
      `/ip4/${node.host.p2pIp}/tcp/${node.host.p2pPort}`,
      "--api",
      String(node.host.apiPort),
      "--api-host",
      node.host.apiHost,
      "--no-mdns",
      "--log-format",
      "json",
      "--bootstrap",
      this.bootstrapFor(node).join(","),
      ...(node.clockOffsetMs === 0 ? [] : ["--clock-offset-ms", String(node.clockOffsetMs)]),
    ];
  }

  // ---- node control -------------------------------------------------------------------------

  async status(n: NodeHandle, timeoutMs = 1500): Promise<StatusJson | undefined> {
    const r = await getJson<StatusJson>(`${n.api}/status`, timeoutMs);
    return r?.status === 200 ? r.body : undefined;
  }

  /** Starts node i; resolves once its API answers (the time it did). */
  async startNode(i: number, opts: { clockOffsetMs?: number } = {}): Promise<number> {
    const n = this.nodes[i]!;
    if (opts.clockOffsetMs !== undefined) n.clockOffsetMs = opts.clockOffsetMs;
    if (this.t0 === 0) {
      this.t0 = Date.now();
      this.sampler = setInterval(() => this.loadSamples.push(loadavg()[0]!), 2000);
      this.sampler.unref();
    }
    delete n.loadedHeight;
    delete n.upSince;
    n.proc.start();
    const up = await this.waitApi(n);
    n.upSince = up;
    return up;
  }

  /** Waits for the API to answer. Generous: on a shared 2-core machine a start can take tens of seconds. */
  async waitApi(n: NodeHandle, timeoutMs = 90_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (n.proc.state === "exited")
        throw new Error(`${n.name} exited while starting:\n${n.proc.lastLines(15).join("\n")}`);
      if ((await this.status(n, 500)) !== undefined) return Date.now();
      await sleep(100);
    }
    throw new Error(`${n.name}: API not answering after ${timeoutMs} ms`);
  }

  running(): NodeHandle[] {
    return this.nodes.filter((n) => n.proc.state === "running");
  }

  /** Waits until every running node has a head at least `height`. */
  async waitHeight(height: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      const s = await Promise.all(this.running().map((n) => this.status(n)));
      last = s.map((x) => x?.head.height ?? "?").join(",");
      if (s.every((x) => x !== undefined && x.head.height >= height)) return;
      await sleep(100);
    }
    throw new Error(`height ${height} not reached on every running node (${last})`);
  }

  /**
   * Polls every running node's /status until all report the same head hash; resolves with the
   * time it happened, or undefined after `timeoutMs`.
   */
  async waitConverged(timeoutMs: number): Promise<{ at: number; height: number } | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const nodes = this.running();
      const s = await Promise.all(nodes.map((n) => this.status(n, 1000)));
      if (nodes.length > 0 && s.every((x) => x !== undefined && x.head.hash === s[0]!.head.hash))
        return { at: Date.now(), height: s[0]!.head.height };
      await sleep(100);
    }
    return undefined;
  }

  /**
   * Runs one perturbation: `fault` applies it and returns when it has been undone (the moment of
   * recovery); then waits for one head on every running node and records the result.
   */
  async perturb(
    name: string,
    targets: string,
    fault: () => Promise<{
      recoveredAt: number;
      detail?: string;
      held?: boolean;
      notRun?: boolean;
      extraMs?: number;
    }>,
  ): Promise<PerturbationResult> {
    const at = this.elapsed();
    const started = Date.now();
    this.log(`${name} on ${targets}`);
    let result: PerturbationResult;
    try {
      const r = await fault();
      const lastedS = (r.recoveredAt - started) / 1000;
      const limitMs = this.cfg.convergeSlots * this.slotMs + (r.extraMs ?? 0);
      const conv = await this.waitConverged(limitMs + 30_000);
      const convergedMs = conv === undefined ? undefined : Math.max(0, conv.at - r.recoveredAt);
      const within = convergedMs !== undefined && convergedMs <= limitMs;
      result = {
        name,
        targets,
        at,
        lastedS,
        ...(convergedMs === undefined
          ? {}
          : { convergedMs, convergedSlots: Math.ceil(convergedMs / this.slotMs) }),
        held: within && r.held !== false && r.notRun !== true,
        ...(r.notRun === true ? { notRun: true } : {}),
        detail:
          (r.detail ?? "") +
          (conv === undefined
            ? `; no single head within ${(limitMs + 30_000) / 1000} s`
            : within
              ? `${r.detail ? "; " : ""}one head at height ${conv.height}`
              : `${r.detail ? "; " : ""}one head only after ${convergedMs} ms (> ${limitMs} ms allowed)`),
      };
    } catch (err) {
      result = {
        name,
        targets,
        at,
        lastedS: (Date.now() - started) / 1000,
        held: false,
        detail: `harness error: ${(err as Error).message}`,
      };
    }
    this.log(`${name}: ${result.notRun ? "NOT RUN" : result.held ? "held" : "VIOLATED"} (${result.detail})`);
    this.perturbations.push(result);
    return result;
  }

  /** kill -9, wait, restart on the same data dir. */
  killRestart(i: number, downMs: number): Promise<PerturbationResult> {
    const n = this.nodes[i]!;
    return this.perturb("kill -9, then restart (same data dir)", n.name, async () => {
      const before = await this.status(n);
      await n.proc.kill9();
      await sleep(downMs);
      const spawned = Date.now();
      const back = await this.startNode(i);
      const loaded = n.loadedHeight;
      return {
        recoveredAt: back,
        detail:
          `down ${(downMs / 1000).toFixed(0)} s; head ${before?.head.height ?? "?"} before the kill, ` +
          `${loaded ?? "?"} loaded from its own store${
            loaded !== undefined && before !== undefined && loaded < before.head.height
              ? ` (${before.head.height - loaded} reported block(s) were not yet on disk)`
              : ""
          }; API up ${((back - spawned) / 1000).toFixed(1)} s after spawn`,
        // It resumes from its own store, not from scratch. (Whether the last head it reported was on
        // disk is shown in the detail: see docs/reliability.md §4, "A head is served before it is on disk".)
        held: loaded !== undefined && loaded > 0,
      };
    });
  }

  /** SIGSTOP for `ms`, then SIGCONT. */
  pauseResume(i: number, ms: number): Promise<PerturbationResult> {
    const n = this.nodes[i]!;
    return this.perturb(`SIGSTOP ${ms / 1000} s, then SIGCONT`, n.name, async () => {
      n.proc.pause();
      await sleep(ms);
      n.proc.resume();
      return { recoveredAt: Date.now(), detail: "frozen, then resumed" };
    });
  }

  /**
   * Cuts `group` off from the other nodes for `slots` slots, then reconnects: a real partition in
   * namespaces (the group keeps forging among itself), SIGSTOP on loopback.
   */
  disconnect(group: number[], slots: number): Promise<PerturbationResult> {
    const names = group.map((i) => this.nodes[i]!.name).join("+");
    const ms = slots * this.slotMs;
    if (this.topology.kind === "loopback") {
      return this.perturb(`disconnect ${slots} slots (SIGSTOP fallback)`, names, async () => {
        for (const i of group) this.nodes[i]!.proc.pause();
        await sleep(ms);
        for (const i of group) this.nodes[i]!.proc.resume();
        return { recoveredAt: Date.now(), detail: "loopback: frozen instead of cut off (not a partition)" };
      });
    }
    return this.perturb(`disconnect for ${slots} slots, then reconnect`, names, async () => {
      const before = await Promise.all(group.map((i) => this.status(this.nodes[i]!)));
      let during: Array<StatusJson | undefined>;
      try {
        await this.topology.partition(group);
        for (const i of group) this.cut.add(i);
        await sleep(ms);
        during = await Promise.all(group.map((i) => this.status(this.nodes[i]!)));
      } finally {
        await this.topology.heal();
        this.cut.clear();
      }
      const grew = group.map((_, j) => (during[j]?.head.height ?? 0) - (before[j]?.head.height ?? 0));
      return {
        recoveredAt: Date.now(),
        detail: `p2p cut (bridge split), API reachable; the cut side's head moved ${grew.join("/")} blocks meanwhile`,
      };
    });
  }

  /** Starts a node that was never started (empty data dir) and waits for it to catch up. */
  lateJoin(i: number): Promise<PerturbationResult> {
    const n = this.nodes[i]!;
    return this.perturb("late joiner from an empty data dir", n.name, async () => {
      const target = Math.max(
        ...(await Promise.all(this.running().map((m) => this.status(m)))).map((s) => s?.head.height ?? 0),
      );
      const up = await this.startNode(i);
      // Besides the usual bound, time to sync the whole chain at 20 blocks/s.
      return {
        recoveredAt: up,
        detail: `joined at network height ${target}`,
        extraMs: Math.ceil((target / 20) * 1000),
      };
    });
  }

  /** Restarts node i (SIGTERM, clean) with its clock shifted by `offsetMs`. */
  clockOffset(i: number, offsetMs: number): Promise<PerturbationResult> {
    const n = this.nodes[i]!;
    const name =
      offsetMs === 0
        ? "clock set right again (restarted without --clock-offset-ms)"
        : `clock ${offsetMs > 0 ? "+" : ""}${offsetMs} ms (restarted with --clock-offset-ms; stays off)`;
    if (!this.clockOffsetSupported) {
      return this.perturb(name, n.name, async () => ({
        recoveredAt: Date.now(),
        held: false,
        detail: "not run: `cardio start` has no --clock-offset-ms",
      }));
    }
    return this.perturb(name, n.name, async () => {
      const rec = await n.proc.stop("SIGTERM to restart with a shifted clock");
      const clean = rec !== undefined && rec.code === 0;
      try {
        const up = await this.startNode(i, { clockOffsetMs: offsetMs });
        return {
          recoveredAt: up,
          held: clean,
          detail: `clean stop (exit ${rec?.code ?? rec?.signal}), back with its clock ${offsetMs === 0 ? "right" : `${offsetMs} ms off`}`,
        };
      } catch (err) {
        // `cardio start` refused the flag: note it as an expected exit, and bring the node back as it was.
        const last = n.proc.exits[n.proc.exits.length - 1];
        if (last !== undefined && last.expected === undefined) last.expected = "refused --clock-offset-ms";
        const why = n.proc.lastLines(3).find((l) => l.startsWith("error:")) ?? (err as Error).message;
        n.clockOffsetMs = 0;
        const up = await this.startNode(i, { clockOffsetMs: 0 });
        return {
          recoveredAt: up,
          notRun: true,
          detail: `\`cardio start\` refused the offset (${why.trim()}); restarted without it`,
        };
      }
    });
  }

  /** Starts the double signer and waits until it has equivocated and every running node slashed it. */
  equivocate(timeoutMs = 90_000): Promise<PerturbationResult> {
    const ch = this.cheater;
    if (ch === undefined) throw new Error("no cheater configured");
    return this.perturb(
      "one validator signs two blocks for one slot",
      `cheater (stake ${this.cfg.cheaterStake})`,
      async () => {
        await this.startDoubleSigner();
        const deadline = Date.now() + timeoutMs;
        while (this.equivocations.length === 0 && Date.now() < deadline) await sleep(100);
        if (this.equivocations.length === 0)
          return {
            recoveredAt: Date.now(),
            held: false,
            detail: `no equivocation within ${timeoutMs / 1000} s`,
          };
        const e = this.equivocations[0]!;
        // Slashed on every running node: stake 0.
        while (Date.now() < deadline) {
          const accts = await Promise.all(
            this.running().map((n) => getJson<AccountJson>(`${n.api}/accounts/${ch.address}`, 1000)),
          );
          if (accts.every((a) => a?.status === 200 && a.body.stake === "0")) {
            return {
              recoveredAt: Date.now(),
              detail: `equivocated at slot ${e.slot}; stake 0 on every running node ${((Date.now() - e.at) / 1000).toFixed(1)} s later`,
            };
          }
          await sleep(100);
        }
        return {
          recoveredAt: Date.now(),
          held: false,
          detail: `equivocated at slot ${e.slot} but not slashed on every node in time`,
        };
      },
    );
  }

  private async startDoubleSigner(): Promise<void> {
    const ch = this.cheater!;
    if (this.bundle === undefined) this.bundle = await bundleDoubleSigner();
    const host = await this.topology.host(this.cfg.honest);
    ch.host = host;
    const loop = this.topology.kind === "loopback";
    const { freePort } = await import("./topology.js");
    const rogueListen = `/ip4/${host.p2pIp}/tcp/${loop ? await freePort() : host.p2pPort + 1}`;
    const config = {
      genesisFile: join(this.dir, "genesis.json"),
      seed: this.seed,
      index: this.cfg.honest,
      listen: `/ip4/${host.p2pIp}/tcp/${host.p2pPort}`,
      rogueListen,
      bootstrap: this.bootstrapFor(undefined),
      maxOffences: 3,
    };
    const bundle = this.bundle;
    ch.proc = new ManagedProcess({
      name: "double-signer",
      host,
      argv: () => bundle.argv,
      env: cleanEnv({ PERTURB_DOUBLE_SIGNER: JSON.stringify(config) }),
      logFile: join(this.dir, "logs", "double-signer.log"),
      onLine: (line) => {
        try {
          const j = JSON.parse(line) as { event?: string; slot?: number; a?: string; b?: string; t?: number };
          if (j.event === "equivocated") {
            this.equivocations.push({ slot: j.slot!, a: j.a!, b: j.b!, at: j.t ?? Date.now() });
            this.log(`double signer: two blocks for slot ${j.slot}`);
          } else if (j.event === "ready") ch.ready = true;
        } catch {
          // a log line
        }
      },
    });
    ch.proc.start();
  }

  // ---- the end of a run: drain, read every node, check ------------------------------------------

  /**
   * Stops the load, waits for every accepted transaction to be included and for one head, reads
   * every node and checks every invariant; then stops every process (SIGTERM) and checks exits.
   */
  async finish(): Promise<RunReport> {
    const invariants: InvariantResult[] = [];
    const t = this.elapsed();
    this.log("stopping the load; draining");
    await this.load.stop();
    clearInterval(this.sampler);
    const stats = this.load.stats;
    const pendingIds = new Set([...stats.accepted.keys(), ...stats.known.keys()]);
    const drainDeadline = Date.now() + 60_000;
    while (pendingIds.size > 0 && Date.now() < drainDeadline) {
      const node = this.running()[0];
      if (node === undefined) break;
      const ids = [...pendingIds];
      for (let k = 0; k < ids.length; k += 20) {
        await Promise.all(
          ids.slice(k, k + 20).map(async (id) => {
            const r = await getJson<TxStatusJson>(`${node.api}/txs/${id}`, 2000);
            if (r?.body.status === "included") pendingIds.delete(id);
          }),
        );
      }
      if (pendingIds.size > 0) await sleep(500);
    }
    // A few more slots so the last inclusions are not at the tip.
    await sleep(4 * this.slotMs);

    // No crash: everything not stopped on purpose is still running.
    const crashes: string[] = [];
    for (const p of this.allProcs()) {
      for (const e of p.exits)
        if (e.expected === undefined)
          crashes.push(`${p.name} exited code=${e.code} signal=${e.signal}: ${p.lastLines(5).join(" / ")}`);
      if (p.startCount > 0 && p.state !== "running") crashes.push(`${p.name} is ${p.state} at the end`);
    }

    const final = await this.waitConverged(this.cfg.convergeSlots * this.slotMs + 30_000);
    const convergeViolations = this.perturbations
      .filter((p) => p.convergedMs === undefined || p.convergedMs > this.cfg.convergeSlots * this.slotMs)
      .map(
        (p) => `${p.name} on ${p.targets}: ${p.convergedMs === undefined ? "never" : `${p.convergedMs} ms`}`,
      );
    if (final === undefined) convergeViolations.push("no single head at the end");
    const worst = Math.max(0, ...this.perturbations.map((p) => p.convergedSlots ?? 0));
    invariants.push({
      name: `honest nodes converge to one head within ${this.cfg.convergeSlots} slots of each perturbation`,
      held: convergeViolations.length === 0,
      detail:
        `slowest: ${worst} slots after recovery; at the end all ${this.running().length} running nodes on one head` +
        (final === undefined ? " — NOT reached" : ` at height ${final.height}`),
      violations: convergeViolations,
    });

    // Read every running honest node.
    this.log("reading every node's chain and accounts");
    const views: NodeView[] = [];
    const replays: Replay[] = [];
    const readProblems: string[] = [];
    for (const n of this.running()) {
      try {
        const { view, replay } = await this.readNode(n);
        views.push(view);
        replays.push(replay);
      } catch (err) {
        readProblems.push(`${n.name}: ${(err as Error).message}`);
      }
    }
    const txStatus = new Map<string, Map<string, { status: string; height?: number; blockHash?: string }>>();
    for (const n of this.running()) {
      const m = new Map<string, { status: string; height?: number; blockHash?: string }>();
      // Ten at a time, and a request the node did not answer (a busy host) is asked again, up to 4 times.
      let ids = [...stats.accepted.keys()];
      for (let round = 0; round < 4 && ids.length > 0; round++) {
        const unanswered: string[] = [];
        for (let k = 0; k < ids.length; k += 10) {
          await Promise.all(
            ids.slice(k, k + 10).map(async (id) => {
              const r = await getJson<TxStatusJson>(`${n.api}/txs/${id}`, 5000);
              if (r === undefined) unanswered.push(id);
              else m.set(id, r.body);
            }),
          );
        }
        ids = unanswered;
        if (ids.length > 0) await sleep(1000);
      }
      if (ids.length > 0) readProblems.push(`${n.name}: ${ids.length} GET /txs/:id requests never answered`);
      txStatus.set(n.name, m);
    }

    if (views.length === 0) {
      invariants.push({ name: "nodes readable", held: false, detail: readProblems.join("; ") });
    } else {
      if (readProblems.length > 0)
        invariants.push({ name: "nodes readable", held: false, detail: readProblems.join("; ") });
      const upTo = commonHeight(views, 2);
      invariants.push(checkAgreement(views, upTo));
      invariants.push(checkLottery(views, replays));
      const missed = checkMissedSlots(views, upTo);
      const byWinner = missedByWinner(this.genesis, views[0]!.chain, replays[0]!, upTo);
      const who = [...byWinner]
        .sort((a, b) => b[1] - a[1])
        .map(([addr, k]) => `${this.nameOf(addr)} ${k}`)
        .join(", ");
      missed.detail += `; winners of the missed slots: ${who}`;
      invariants.push(missed);
      invariants.push(
        checkTransactions(views, new Set(stats.accepted.keys()), new Set(stats.known.keys()), txStatus),
      );
      invariants.push(checkSupply(this.genesis, views, replays));
      if (this.cheater !== undefined && this.cheater.proc !== undefined) {
        const seenBoth = new Map<number, boolean>();
        for (const e of this.equivocations) {
          let both = false;
          for (const n of this.running()) {
            const a = await getJson(`${n.api}/blocks/${e.a}`, 2000);
            const b = await getJson(`${n.api}/blocks/${e.b}`, 2000);
            if (a?.status === 200 && b?.status === 200) both = true;
          }
          seenBoth.set(e.slot, both);
        }
        invariants.push(
          checkSlashing(
            views,
            replays,
            this.cheater.address,
            this.cfg.cheaterStake!,
            this.equivocations,
            seenBoth,
          ),
        );
      }
    }
    if (stats.refused.length > 0) {
      invariants.push({
        name: "every well-formed transaction was accepted or answered as already known",
        held: false,
        detail: `${stats.refused.length} refused`,
        violations: stats.refused.slice(0, 5).map((r) => `${r.node}: ${r.status} ${r.code} ${r.message}`),
      });
    }

    if (this.cfg.keep) {
      // For digging into a run afterwards: what was accepted where and when, and the probes.
      await writeFile(
        join(this.dir, "harness.json"),
        JSON.stringify(
          {
            t0: this.t0,
            perturbations: this.perturbations,
            accepted: [...stats.accepted.values()],
            known: [...stats.known.values()],
            abandoned: stats.abandoned,
            probes: stats.probes,
            nodes: this.nodes.map((n) => ({ name: n.name, address: n.address, api: n.api })),
          },
          null,
          1,
        ),
      );
    }

    // Stop everything: each must exit 0 on SIGTERM.
    this.log("stopping every process (SIGTERM)");
    const unclean: string[] = [];
    await Promise.all(
      this.allProcs().map(async (p) => {
        const rec = await p.stop("SIGTERM at the end of the run");
        if (rec !== undefined && rec.code !== 0) unclean.push(`${p.name}: exit ${rec.code ?? rec.signal}`);
      }),
    );
    const killed = this.allProcs().reduce(
      (s, p) => s + p.exits.filter((e) => e.expected?.startsWith("kill -9")).length,
      0,
    );
    invariants.push({
      name: "no node crashed except the ones killed on purpose",
      held: crashes.length === 0 && unclean.length === 0,
      detail:
        `${this.allProcs().reduce((s, p) => s + p.startCount, 0)} process starts, ${killed} kill -9 on purpose; ` +
        `every other process alive at the end and exited 0 on SIGTERM`,
      violations: [...crashes, ...unclean],
    });
    const errorLines = this.allProcs().reduce((s, p) => s + p.badLines.length, 0);
    for (const p of this.allProcs())
      for (const line of p.badLines.slice(0, 2)) {
        let text = line;
        try {
          const j = JSON.parse(line) as { msg?: string; err?: { message?: string } };
          text = `${j.msg ?? ""}${j.err?.message === undefined ? "" : `: ${j.err.message}`}`;
        } catch {
          // not JSON
        }
        this.notes.push(`error-level line from ${p.name}: ${text.slice(0, 200)}`);
      }

    const blocks = views[0]?.chain.json.length ?? 0;
    const retries = [...stats.retries].map(([k, v]) => `${k} ${v}`).join(", ");
    const loads = this.loadSamples;
    const count = (names: string[]) => {
      const m = new Map<string, number>();
      for (const k of names) m.set(k, (m.get(k) ?? 0) + 1);
      return [...m]
        .sort()
        .map(([k, v]) => `${k} ${v}`)
        .join(", ");
    };
    const missing = stats.probes.missing;
    const still = missing.filter((m) => (m.stillMissingAt?.length ?? 0) > 0);
    return {
      profile: this.cfg.profile,
      topology:
        this.topology.kind === "netns"
          ? "network namespaces (one per process, p2p and API on separate bridges)"
          : "loopback (SIGSTOP stands in for disconnects)",
      startedAt: new Date(this.t0).toISOString().replace(/\.\d+Z$/, "Z"),
      durationS: this.elapsed(),
      slotMs: this.slotMs,
      nodes:
        `${this.cfg.honest} honest validators (\`cardio start\` processes)` +
        (this.cheater === undefined ? "" : ", 1 equivocating validator (test-only double signer)") +
        `, ${this.cfg.loadAccounts} load accounts`,
      perturbations: this.perturbations,
      invariants,
      stats: {
        "load phase (s)": t.toFixed(0),
        "txs accepted (202)": stats.accepted.size,
        "txs answered already-known": stats.known.size,
        "resends (no definite answer)": retries === "" ? 0 : retries,
        "abandoned unanswered at the end": stats.abandoned.length,
        "tx gossip probes (accepted tx known to every other running node 3 s later)": `${stats.probes.checked - missing.length}/${stats.probes.checked}${
          missing.length === 0
            ? ""
            : ` (misses: accepted by ${count(missing.map((m) => m.acceptedBy))}; missing at ${count(missing.flatMap((m) => m.missingAt))}; ` +
              `${still.length} still missing 10 s later${still.length === 0 ? "" : `, at ${count(still.flatMap((m) => m.stillMissingAt!))}`})`
        }`,
        "final height": blocks,
        "error-level log lines": errorLines,
        "host load average (1 min) mean/max":
          loads.length === 0
            ? "-"
            : `${(loads.reduce((a, b) => a + b, 0) / loads.length).toFixed(1)}/${Math.max(...loads).toFixed(1)} on ${cpus().length} cores`,
      },
      notes: this.notes,
      ...(this.cfg.keep ? { logDir: this.dir } : {}),
    };
  }

  /** `v3`, `cheater`, `load-1` or a short address. */
  nameOf(address: string): string {
    const n = this.nodes.find((x) => x.address === address);
    if (n !== undefined) return n.name;
    if (this.cheater?.address === address) return "cheater";
    const j = this.loadKeys.findIndex((k) => addressFromPublicKey(k.publicKey) === address);
    if (j >= 0) return `load-${j}`;
    return `…${address.slice(-6)}`;
  }

  private allProcs(): ManagedProcess[] {
    return [
      ...this.nodes.map((n) => n.proc),
      ...(this.cheater?.proc === undefined ? [] : [this.cheater.proc]),
    ];
  }

  /** Chain, offline replay and a consistent account snapshot of one node. */
  private async readNode(n: NodeHandle): Promise<{ view: NodeView; replay: Replay }> {
    // Every address that can hold tokens: genesis accounts (validators, cheater, load) and whoever
    // else the replay finds (e.g. the double signer's follower, which submits evidence).
    const addresses = new Set<string>(this.genesis.accounts.map((a) => a.address));
    for (let attempt = 0; attempt < 8; attempt++) {
      // Accounts first (at a head that did not move meanwhile), then the chain up to at least that head.
      const snap = await this.snapshotAccounts(n, [...addresses]);
      if (snap === undefined) continue;
      const chain = await fetchChain(n.api);
      if (chain === undefined) throw new Error("stopped answering while its chain was read");
      const replay = replayChain(this.genesis, chain);
      const h = snap.head.height;
      if (h > chain.json.length || chain.json[h - 1]?.hash !== snap.head.hash) continue; // a reorg meanwhile
      const state = replay.states[h];
      let unknown = 0;
      for (const hex of state?.accounts.keys() ?? []) {
        const addr = addressFromPublicKey(Uint8Array.from(Buffer.from(hex, "hex")));
        if (!addresses.has(addr)) {
          addresses.add(addr);
          unknown++;
        }
      }
      if (unknown > 0) continue;
      return { view: { name: n.name, chain, accounts: snap.accounts, snapshotHead: snap.head }, replay };
    }
    throw new Error("could not read a consistent chain and account snapshot in 8 attempts");
  }

  /** Reads `addresses` while the node's head does not move (status before and after agree). */
  private async snapshotAccounts(
    n: NodeHandle,
    addresses: string[],
  ): Promise<{ head: { height: number; hash: string }; accounts: Map<string, AccountJson> } | undefined> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const before = await this.status(n, 3000);
      if (before === undefined) return undefined;
      const accounts = new Map<string, AccountJson>();
      const answers = await Promise.all(
        addresses.map((a) => getJson<AccountJson>(`${n.api}/accounts/${a}`, 3000)),
      );
      answers.forEach((r, i) => {
        if (r?.status === 200) accounts.set(addresses[i]!, r.body);
      });
      const after = await this.status(n, 3000);
      if (after !== undefined && after.head.hash === before.head.hash && accounts.size === addresses.length)
        return { head: { height: before.head.height, hash: before.head.hash }, accounts };
    }
    return undefined;
  }

  /** Stops everything this run started and removes what it made (unless `keep`). */
  async destroy(): Promise<string[]> {
    if (this.destroyed) return [];
    this.destroyed = true;
    clearInterval(this.sampler);
    const problems: string[] = [];
    try {
      await this.load?.stop();
    } catch {
      // ignore
    }
    for (const p of this.allProcs?.() ?? []) {
      try {
        if (p.state !== "exited" && p.state !== "never-started") await p.stop("cleanup", 5000);
      } catch (err) {
        problems.push(String(err));
      }
      await p.closeLog().catch(() => {});
    }
    if (this.topology !== undefined) problems.push(...(await this.topology.destroy()));
    await this.cardio?.cleanup().catch(() => {});
    await this.bundle?.cleanup().catch(() => {});
    if (this.dir !== undefined && !this.cfg.keep) await rm(this.dir, { recursive: true, force: true });
    return problems;
  }
}
