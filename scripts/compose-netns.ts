/**
 * Runs what docker-compose.yml says without a Docker engine, and checks that it makes a network.
 *
 *   sudo npx tsx scripts/compose-netns.ts [--mdns-only] [--verbose] [--report out.json]
 *   npm run test:compose      (the same, as root)
 *
 * For each service of the compose file it creates a network namespace on one bridge (its own IP
 * in 10.200.0.0/24, a multicast route for mDNS, /etc/hosts naming every service — a compose
 * network in small), maps its named volumes to folders, sets the image's and the service's
 * environment, and runs the image's entrypoint + the service's command with this checkout's
 * build (`/app` in the image is this checkout; `cardio` on the PATH is a wrapper for it),
 * honouring depends_on, healthchecks (run inside the namespace) and restart policies. Then it
 * waits until every validator is healthy, connected to all the others, and all share one chain
 * at height ≥ 20 (same block hash at one height), prints a table and tears everything down —
 * processes, namespaces, veths, bridge, /etc/netns files, temporary folders — on success, failure,
 * Ctrl-C or SIGTERM alike. Leftovers of earlier runs that crashed are removed first.
 *
 * Discovery variants: by default the file as it is (mDNS and the bootstrap list); `--mdns-only`
 * strips the bootstrap list (CARDIO_BOOTSTRAP and --bootstrap) so the validators can only find
 * each other by mDNS; `--bootstrap-only` adds CARDIO_NO_MDNS=1 to the validators so only the
 * `/dns4/<service>/…` bootstrap addresses (resolved through the namespaces' /etc/hosts, as
 * Docker's DNS resolves service names) connect them.
 *
 * The genesis time is the compose file's own (+10 s after the genesis service runs); nothing is
 * overridden, so the time measured is what `docker compose up` would take once the image is built.
 */
import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type ComposeFile, loadComposeFile } from "./compose/composeFile.js";
import { loadDockerfile } from "./compose/dockerfile.js";
import { type Host, NetnsRun, removeStaleRuns, runAlive, SUBNET } from "./compose/netns.js";
import {
  apiPort,
  isNodeService,
  planServices,
  type ServicePlan,
  startOrder,
  withoutBootstrap,
} from "./compose/plan.js";
import { Probe } from "./compose/probe.js";
import { type ServiceState, Supervisor } from "./compose/supervisor.js";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Temporary folders: `<prefix><run id>-XXXXXX` (mkdtemp), so leftovers of dead runs can be found. */
const TMP_PREFIX = "cardio-netns-run-";

export type Variant = "compose" | "mdns-only" | "bootstrap-only";

export interface HarnessOptions {
  /** Compose file (default docker-compose.yml of this checkout). */
  file?: string;
  /** `compose`: the file as it is; `mdns-only`: bootstrap list stripped; `bootstrap-only`: mDNS off. */
  variant?: Variant;
  /** Height every validator must reach, with one block hash there (default 20). */
  targetHeight?: number;
  /** Give up this long after `up` (default 100 s). */
  timeoutMs?: number;
  /** Run `npm run build` first (default true; incremental, so quick when up to date). */
  build?: boolean;
  /** Echo every service's output, prefixed, as `docker compose up` does. */
  verbose?: boolean;
  /** Progress lines (default: to stderr). */
  log?: (line: string) => void;
  /** Aborts the run (then it tears down and reports). */
  signal?: AbortSignal;
}

export interface NodeReport {
  service: string;
  ip: string;
  /** Host port → container port of the API, as the compose file publishes it. */
  ports: string;
  apiUrl: string;
  health: string;
  peers?: number;
  height?: number;
  headHash?: string;
  /** Hash of the block at the common height. */
  commonHash?: string;
  restarts: number;
  exitCode?: number | null;
}

export interface HarnessReport {
  variant: Variant;
  ok: boolean;
  failures: string[];
  runId: string;
  targetHeight: number;
  /** ms after `up` (the genesis service starting); undefined when never reached. */
  timings: {
    genesisDoneMs?: number;
    allHealthyMs?: number;
    allConnectedMs?: number;
    targetHeightMs?: number;
    agreedMs?: number;
  };
  common?: { height: number; hash: string };
  nodes: NodeReport[];
  services: Array<{
    service: string;
    ip: string;
    /** Names of the CARDIO_* variables it ran with. */
    cardioEnv: string[];
    exitCode?: number | null;
    restarts: number;
    blocked?: string;
  }>;
  cleanup: { ok: boolean; problems: string[]; staleRemoved: string[] };
}

type NodeStatus = { head?: { height?: number; hash?: string }; peers?: number };

/** Runs the compose file in namespaces and reports. Needs root and iproute2. */
export async function runComposeNetns(options: HarnessOptions = {}): Promise<HarnessReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const file = options.file ?? join(REPO_ROOT, "docker-compose.yml");
  const targetHeight = options.targetHeight ?? 20;
  const timeoutMs = options.timeoutMs ?? 100_000;
  const runId = process.pid.toString(36);
  const variant = options.variant ?? "compose";
  const failures: string[] = [];
  const report: HarnessReport = {
    variant,
    ok: false,
    failures,
    runId,
    targetHeight,
    timings: {},
    nodes: [],
    services: [],
    cleanup: { ok: false, problems: [], staleRemoved: [] },
  };

  if (process.getuid?.() !== 0) throw new Error("compose-netns needs root (network namespaces)");
  report.cleanup.staleRemoved = [...(await removeStaleRuns()), ...(await removeStaleTempDirs())];
  if (report.cleanup.staleRemoved.length > 0)
    log(`removed leftovers of earlier runs: ${report.cleanup.staleRemoved.join(", ")}`);

  // Read and plan everything before touching the system.
  let compose: ComposeFile = await loadComposeFile(file);
  if (variant === "mdns-only") compose = { ...compose, services: compose.services.map(withoutBootstrap) };
  startOrder(compose.services);
  const builders = compose.services.filter((s) => s.build !== undefined);
  const contexts = new Set(builders.map((s) => join(dirname(file), s.build!.context, s.build!.dockerfile)));
  if (contexts.size !== 1) throw new Error("expected every built service to use one Dockerfile");
  const dockerfile = await loadDockerfile([...contexts][0]!);

  if (options.build !== false) await build(log);

  const tmp = await mkdtemp(join(tmpdir(), `${TMP_PREFIX}${runId}-`));
  const net = new NetnsRun(runId);
  let supervisor: Supervisor | undefined;
  let probe: Probe | undefined;
  try {
    const binDir = join(tmp, "bin");
    await mkdir(binDir, { recursive: true });
    const cardioJs = join(REPO_ROOT, "packages/node/dist/bin/cardio.js");
    await writeFile(join(binDir, "cardio"), `#!/bin/sh\nexec "${process.execPath}" "${cardioJs}" "$@"\n`);
    await chmod(join(binDir, "cardio"), 0o755);
    const plans = planServices(compose, {
      image: dockerfile.image,
      repoRoot: REPO_ROOT,
      binDir,
      volumeDir: (name) => join(tmp, "volumes", name),
      rootDir: (service) => join(tmp, "roots", service),
      hostPath: process.env.PATH ?? "/usr/bin:/bin",
    });
    if (variant === "bootstrap-only")
      for (const plan of plans) if (isNodeService(plan)) plan.env.CARDIO_NO_MDNS = "1";
    for (const plan of plans) await prepareFilesystem(plan);
    await mkdir(join(tmp, "logs"), { recursive: true });

    // The compose network: one namespace per service, plus the probe standing for the host.
    await net.createBridge();
    const hosts = new Map<string, Host>();
    for (const [i, plan] of plans.entries()) hosts.set(plan.service.name, await net.addHost(10 + i, 10 + i));
    const probeHost = await net.addHost(2, 2);
    const names = Object.fromEntries([...hosts].map(([name, h]) => [name, h.ip]));
    for (const h of [...hosts.values(), probeHost]) await net.writeHostsFile(h, names);
    probe = new Probe(net, probeHost);
    log(
      `compose-netns ${variant}: ${plans.length} services on bridge ${net.bridge} (${SUBNET}.0/24): ` +
        plans.map((p) => `${p.service.name}=${hosts.get(p.service.name)!.ip}`).join(" "),
    );

    supervisor = new Supervisor({
      run: net,
      plans: plans.map((plan) => ({ plan, host: hosts.get(plan.service.name)! })),
      logFile: (service) => join(tmp, "logs", `${service}.log`),
      ...(options.verbose === true ? { echo: (line: string) => log(line) } : {}),
    });
    const nodes = plans.filter(isNodeService);
    if (nodes.length < 2) throw new Error("the compose file runs fewer than 2 cardio validators");
    supervisor.start();
    await watch({
      supervisor,
      probe,
      nodes,
      hosts,
      report,
      targetHeight,
      timeoutMs,
      signal: options.signal,
      log,
    });
  } catch (err) {
    failures.push(err instanceof Error ? err.message : String(err));
  } finally {
    if (supervisor !== undefined) {
      report.services = [...supervisor.states.values()].map((st) => ({
        service: st.plan.service.name,
        ip: st.host.ip,
        cardioEnv: Object.keys(st.plan.env)
          .filter((k) => k.startsWith("CARDIO_"))
          .sort(),
        ...(st.exitCode === undefined ? {} : { exitCode: st.exitCode }),
        restarts: st.restarts,
        ...(st.blocked === undefined ? {} : { blocked: st.blocked }),
      }));
      if (failures.length > 0) for (const st of supervisor.states.values()) printTail(st, log);
      await supervisor.stop();
    }
    await probe?.close();
    const problems = await net.destroy();
    await rm(tmp, { recursive: true, force: true }).catch((e: unknown) => problems.push(String(e)));
    report.cleanup.problems = problems;
    report.cleanup.ok = problems.length === 0;
    if (!report.cleanup.ok) failures.push(`cleanup: ${problems.join("; ")}`);
  }
  report.ok = failures.length === 0;
  return report;
}

interface WatchArgs {
  supervisor: Supervisor;
  probe: Probe;
  nodes: ServicePlan[];
  hosts: Map<string, Host>;
  report: HarnessReport;
  targetHeight: number;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  log: (line: string) => void;
}

/** Polls the validators once a second until every check holds (or time runs out). */
async function watch(a: WatchArgs): Promise<void> {
  const { supervisor, probe, nodes, hosts, report, targetHeight } = a;
  const t = report.timings;
  const wanted = nodes.length - 1;
  const url = (plan: ServicePlan) => `http://${hosts.get(plan.service.name)!.ip}:${apiPort(plan)}`;
  report.nodes = nodes.map((plan) => ({
    service: plan.service.name,
    ip: hosts.get(plan.service.name)!.ip,
    ports: plan.service.ports.map((p) => `${p.host ?? "-"}→${p.container}`).join(","),
    apiUrl: url(plan),
    health: "starting",
    restarts: 0,
  }));
  let lastProgress = 0;
  for (;;) {
    if (a.signal?.aborted) throw new Error("interrupted");
    const now = supervisor.elapsed();
    if (now > a.timeoutMs) throw new Error(`timed out after ${Math.round(a.timeoutMs / 1000)} s`);
    const states = [...supervisor.states.values()];
    const blocked = states.find((s) => s.blocked !== undefined);
    if (blocked !== undefined) throw new Error(`${blocked.plan.service.name}: ${blocked.blocked}`);
    const oneShots = states.filter((s) => !nodes.includes(s.plan));
    if (t.genesisDoneMs === undefined && oneShots.every((s) => s.exitCode === 0 && !s.running))
      t.genesisDoneMs = Math.max(0, ...oneShots.map((s) => s.exitedAtMs ?? 0));

    const statuses = await Promise.all(
      nodes.map(async (plan) => {
        const r = await probe.get(`${url(plan)}/status`);
        return r.status === 200 ? (r.body as NodeStatus) : undefined;
      }),
    );
    for (const [i, plan] of nodes.entries()) {
      const st = supervisor.states.get(plan.service.name)!;
      const n = report.nodes[i]!;
      const s = statuses[i];
      n.health = st.health;
      n.restarts = st.restarts;
      if (st.exitCode !== undefined) n.exitCode = st.exitCode;
      if (s?.peers !== undefined) n.peers = s.peers;
      if (s?.head?.height !== undefined) n.height = s.head.height;
      if (s?.head?.hash !== undefined) n.headHash = s.head.hash;
    }
    const healthy = nodes.every((p) => supervisor.states.get(p.service.name)!.health === "healthy");
    const connected = statuses.every((s) => (s?.peers ?? 0) >= wanted);
    const minHeight = Math.min(...statuses.map((s) => s?.head?.height ?? -1));
    if (healthy) t.allHealthyMs ??= now;
    if (connected) t.allConnectedMs ??= now;
    if (minHeight >= targetHeight) t.targetHeightMs ??= now;

    if (now - lastProgress >= 5000) {
      lastProgress = now;
      a.log(
        `  ${(now / 1000).toFixed(0).padStart(3)} s  ` +
          report.nodes
            .map((n) => `${n.service}: ${n.health} h=${n.height ?? "-"} peers=${n.peers ?? "-"}`)
            .join("  "),
      );
    }

    if (healthy && connected && minHeight >= targetHeight) {
      // One chain: the same block at the target height on every validator.
      const blocks = await Promise.all(
        nodes.map(async (plan) => {
          const r = await probe.get(`${url(plan)}/blocks/${targetHeight}`);
          const body = r.body as { hash?: string; header?: { hash?: string } } | undefined;
          return r.status === 200 ? (body?.hash ?? body?.header?.hash) : undefined;
        }),
      );
      for (const [i, h] of blocks.entries()) if (h !== undefined) report.nodes[i]!.commonHash = h;
      const first = blocks[0];
      if (first !== undefined && blocks.every((h) => h === first)) {
        t.agreedMs = supervisor.elapsed();
        report.common = { height: targetHeight, hash: first };
        const restarted = report.nodes.filter((n) => n.restarts > 0);
        if (restarted.length > 0)
          throw new Error(`validators restarted (crashed): ${restarted.map((n) => n.service).join(", ")}`);
        return;
      }
    }
    await sleep(1000, a.signal);
  }
}

async function prepareFilesystem(plan: ServicePlan): Promise<void> {
  await mkdir(plan.cwd, { recursive: true });
  for (const m of plan.mounts) {
    await mkdir(m.hostPath, { recursive: true });
    const at = join(plan.root, m.target);
    await mkdir(dirname(at), { recursive: true });
    await rm(at, { recursive: true, force: true });
    await symlink(m.hostPath, at);
  }
}

async function build(log: (line: string) => void): Promise<void> {
  const started = Date.now();
  const out: string[] = [];
  const code = await new Promise<number | null>((resolvePromise) => {
    const child = spawn("npm", ["run", "build"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.setEncoding("utf8").on("data", (d: string) => out.push(d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => out.push(d));
    child.on("error", (err) => {
      out.push(String(err));
      resolvePromise(1);
    });
    child.on("exit", (c) => resolvePromise(c));
  });
  if (code !== 0) throw new Error(`npm run build failed:\n${out.join("")}`);
  log(`built (npm run build, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** Temporary folders of earlier runs whose process is gone. */
async function removeStaleTempDirs(): Promise<string[]> {
  const removed: string[] = [];
  const entries = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const name of entries) {
    const m = new RegExp(`^${TMP_PREFIX}([0-9a-z]+)-[A-Za-z0-9]{6}$`).exec(name);
    if (m === null || (await runAlive(m[1]!))) continue;
    await rm(join(tmpdir(), name), { recursive: true, force: true });
    removed.push(join(tmpdir(), name));
  }
  return removed;
}

function printTail(st: ServiceState, log: (line: string) => void): void {
  const lines = st.tail.slice(-25);
  if (lines.length === 0) return;
  log(`--- last lines of ${st.plan.service.name} ---`);
  for (const line of lines) log(`  ${line}`);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolvePromise) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolvePromise();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The report as a table, for people. */
export function formatReport(r: HarnessReport): string {
  const s = (ms: number | undefined) => (ms === undefined ? "never" : `${(ms / 1000).toFixed(1)} s`);
  const short = (h: string | undefined) => (h === undefined ? "-" : `${h.slice(0, 12)}…`);
  const rows = [
    ["service", "ip", "api host→ctr", "health", "peers", "height", `hash at ${r.targetHeight}`, "restarts"],
    ...r.nodes.map((n) => [
      n.service,
      n.ip,
      n.ports || "-",
      n.health,
      String(n.peers ?? "-"),
      String(n.height ?? "-"),
      short(n.commonHash),
      String(n.restarts),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const table = rows.map((row) =>
    row
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join("  ")
      .trimEnd(),
  );
  const t = r.timings;
  return [
    `compose-netns (${r.variant}): ${r.ok ? "OK" : "FAILED"}`,
    ...table,
    `after up: genesis written ${s(t.genesisDoneMs)}, all healthy ${s(t.allHealthyMs)}, ` +
      `all connected ${s(t.allConnectedMs)}, height ${r.targetHeight} on all ${s(t.targetHeightMs)}, ` +
      `one chain confirmed ${s(t.agreedMs)}`,
    `cleanup: ${r.cleanup.ok ? "complete" : r.cleanup.problems.join("; ")}`,
    ...r.failures.map((f) => `failure: ${f}`),
  ].join("\n");
}

function usage(): string {
  return [
    "usage: tsx scripts/compose-netns.ts [options]   (as root)",
    "  --mdns-only          no bootstrap list: peers found by mDNS only",
    "  --bootstrap-only     no mDNS (CARDIO_NO_MDNS=1): peers found by the bootstrap list only",
    "  --file <path>        compose file (default ./docker-compose.yml)",
    "  --target-height <n>  height all validators must share (default 20)",
    "  --timeout <s>        give up after this many seconds (default 100)",
    "  --no-build           do not run `npm run build` first",
    "  --verbose            echo every service's output",
    "  --report <file>      also write the report as JSON",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const opts: HarnessOptions = {};
  let reportFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--mdns-only") opts.variant = "mdns-only";
    else if (a === "--bootstrap-only") opts.variant = "bootstrap-only";
    else if (a === "--file") opts.file = resolve(value());
    else if (a === "--target-height") opts.targetHeight = Number(value());
    else if (a === "--timeout") opts.timeoutMs = Number(value()) * 1000;
    else if (a === "--no-build") opts.build = false;
    else if (a === "--verbose") opts.verbose = true;
    else if (a === "--report") reportFile = resolve(value());
    else if (a === "--help" || a === "-h") {
      process.stdout.write(`${usage()}\n`);
      return 0;
    } else throw new Error(`unknown option ${a}\n${usage()}`);
  }
  const abort = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    process.stderr.write(`\n${sig}: stopping and cleaning up${signals > 1 ? " (already doing so)" : ""}\n`);
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  opts.signal = abort.signal;
  const report = await runComposeNetns(opts);
  process.stdout.write(`${formatReport(report)}\n`);
  if (reportFile !== undefined) await writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);
  if (abort.signal.aborted) return 130;
  return report.ok ? 0 : 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`compose-netns: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
