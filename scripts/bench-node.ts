/**
 * Node benchmark (issue 5 targets), all measured in one run on the machine at hand:
 *
 *   1. First block: the exact `npm start` script (esbuild bundle, then `cardio devnet`; args appended)
 *      from a clean checkout (no dist/, no *.tsbuildinfo) until the first "(you, forged)" line, split
 *      into bundle, process start and first block; for comparison, a clean `npm run build` (tsc) and
 *      the tsc build's devnet (what `npm start` ran before). Target: npm ci done → first block < 10 s.
 *   2. Restart: a 10,000-block LevelDB data dir (built with the node's own chain + store, blocks from
 *      core `buildBlock`), then a fresh `cardio start` on it, timed from spawn until `GET /health`
 *      answers and until the "chain loaded from store" line (3 runs, for the tsc build and the
 *      bundle); beside it the in-process
 *      `chain.start()` (and the bare read + decode of the store). Target: ready < 3 s.
 *   3. Idle RSS: one `cardio start` on a single-validator genesis (forges alone, no peers, no
 *      transactions), VmRSS sampled every second for 20 s; then a 4-node `cardio devnet`, per process.
 *      Target: < 120 MB.
 *
 *   npm run bench:node                         (tsx scripts/bench-node.ts)
 *   npm run bench:node -- --blocks 2000 --idle-s 10 --only restart,rss
 *   options: --runs N (first-block runs per case, 2) · --blocks N (10000) · --restarts N (3) ·
 *            --idle-s N (20) · --only first-block,restart,rss · --verbose (echo every child's output)
 *   npm run bench:node -- --in-place           (clean build in this checkout: deletes and rebuilds dist)
 *
 * By default the builds run in a sandbox: a copy of the sources (package.json files, tsconfigs,
 * packages/{core,node}/src) in a temp dir whose node_modules links to this checkout's, with
 * @cardio/* pointing at the copy. Deleting dist/ under a shared checkout would break anyone running
 * the end-to-end tests (they spawn dist/bin/cardio.js) meanwhile; the sandbox build is the same tsc
 * on the same files. Parts 2 and 3 run that freshly built sandbox dist too. `--in-place` instead
 * deletes packages/{core,node}/dist and their tsbuildinfo here and leaves a fresh build behind.
 *
 * Every process started is tracked and killed on exit (also on Ctrl-C or a failure), and a final
 * sweep kills any process whose command line names the temp dir; the temp dir is removed.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { cpus, freemem, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

type Core = typeof import("../packages/core/src/index.js");
type NodePkg = typeof import("../packages/node/src/index.js");
type KeyFileMod = typeof import("../packages/node/src/cli/keyFile.js");

// ---- parameters ---------------------------------------------------------------------------------

const argv = process.argv.slice(2);
function flag(name: string): boolean {
  return argv.includes(`--${name}`);
}
function num(name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name} needs a non-negative integer`);
  return v;
}
function list(name: string, fallback: string[]): string[] {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? fallback : (argv[i + 1] ?? "").split(",").filter((s) => s !== "");
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BLOCKS = num("blocks", 10_000);
const RESTARTS = num("restarts", 3);
const IDLE_S = num("idle-s", 20);
const FIRST_BLOCK_RUNS = num("runs", 2);
const IN_PLACE = flag("in-place");
const ONLY = new Set(list("only", ["first-block", "restart", "rss"]));
/** Echo every child's output to stderr, with ms since its spawn. */
const VERBOSE = flag("verbose");
const TARGET_FIRST_BLOCK_MS = 10_000;
const TARGET_RESTART_MS = 3_000;
const TARGET_RSS_MB = 120;
/** Longest wait for any one event (a forged block, /health, an exit) before the run is declared failed. */
const STEP_TIMEOUT_MS = 90_000;

// ---- processes and cleanup ----------------------------------------------------------------------

const TMP = await mkdtemp(join(tmpdir(), "cardio-bench-node-"));
const children = new Set<ChildProcess>();

/** Pids of live processes whose command line mentions the temp dir (ours and their children). */
function strayPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmd.includes(TMP)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

let cleanedUp = false;
function cleanupSync(): void {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      try {
        process.kill(c.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  for (const pid of strayPids()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  try {
    rmSync(TMP, { recursive: true, force: true });
  } catch (err) {
    process.stderr.write(`could not remove ${TMP}: ${String(err)}\n`);
  }
}
process.on("exit", cleanupSync);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    process.stderr.write(`\n${sig}: stopping every process started and removing ${TMP}\n`);
    cleanupSync();
    process.exit(130);
  });
}

interface Proc {
  child: ChildProcess;
  t0: number;
  /** Every output line (stdout and stderr) with the time it arrived, in ms since spawn. */
  lines: Array<{ t: number; line: string }>;
  waitLine(
    pred: (line: string) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<{ t: number; line: string }>;
  exited: Promise<number | null>;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const t0 = performance.now();
  const wall0 = Date.now();
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, so a group signal reaches npm, sh and node alike
  });
  children.add(child);
  const lines: Proc["lines"] = [];
  const waiters: Array<{ pred: (l: string) => boolean; res: (v: { t: number; line: string }) => void }> = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on("line", (line) => {
      const entry = { t: logTime(line, wall0) ?? performance.now() - t0, line };
      lines.push(entry);
      if (VERBOSE) process.stderr.write(`[${cmd.split("/").at(-1)} +${entry.t.toFixed(0)} ms] ${line}\n`);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(line)) waiters.splice(i, 1)[0]!.res(entry);
      }
    });
  }
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  void exited.then(() => children.delete(child));
  return {
    child,
    t0,
    lines,
    exited,
    waitLine(pred, what, timeoutMs = STEP_TIMEOUT_MS) {
      const seen = lines.find((l) => pred(l.line));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((res, rej) => {
        const timer = setTimeout(
          () => rej(new Error(`timed out waiting for ${what}\n${tail(lines)}`)),
          timeoutMs,
        );
        void exited.then((code) =>
          setTimeout(() => rej(new Error(`${cmd} exited (${code}) before ${what}\n${tail(lines)}`)), 50),
        );
        waiters.push({
          pred,
          res: (v) => {
            clearTimeout(timer);
            res(v);
          },
        });
      });
    },
  };
}

/**
 * When a log line was written, in ms since `wall0`: pino's JSON `"time"` field, or pino-pretty's
 * `[HH:MM:ss.l]` (UTC). Reading it from the line, not from its arrival here, keeps pipe and
 * scheduling delays (of the devnet launcher relaying its nodes' lines, of this process) out of the figures.
 */
function logTime(line: string, wall0: number): number | undefined {
  const json = /"time":(\d{13})/.exec(line);
  if (json !== null) return Number(json[1]) - wall0;
  const pretty = /\[(\d\d):(\d\d):(\d\d)\.(\d{3})\]/.exec(line);
  if (pretty === null) return undefined;
  const day = wall0 - (wall0 % 86_400_000);
  let t =
    day + ((Number(pretty[1]) * 60 + Number(pretty[2])) * 60 + Number(pretty[3])) * 1000 + Number(pretty[4]);
  if (t < wall0 - 43_200_000) t += 86_400_000; // past midnight UTC
  return t - wall0;
}

function tail(lines: Proc["lines"], n = 15): string {
  return lines
    .slice(-n)
    .map((l) => `  | ${l.line}`)
    .join("\n");
}

/** Signals the process group, waits for the exit; SIGKILL after `graceMs`. Returns the exit time. */
async function stop(p: Proc, signal: NodeJS.Signals = "SIGINT", graceMs = 15_000): Promise<number> {
  const t = performance.now();
  if (p.child.exitCode === null && p.child.signalCode === null) {
    try {
      process.kill(-p.child.pid!, signal);
    } catch {
      // exited meanwhile
    }
    const killer = setTimeout(() => {
      try {
        process.kill(-p.child.pid!, "SIGKILL");
      } catch {
        // gone
      }
    }, graceMs);
    await p.exited;
    clearTimeout(killer);
  }
  return performance.now() - t;
}

/** Kills (by pid) anything still running from a finished step: a devnet's nodes have their own groups. */
async function sweep(): Promise<void> {
  const pids = strayPids();
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  if (pids.length > 0) {
    process.stderr.write(`swept ${pids.length} leftover process(es)\n`);
    await sleep(200);
  }
}

async function waitExit(p: Proc, what: string, timeoutMs = STEP_TIMEOUT_MS * 3): Promise<number | null> {
  const timeout = sleep(timeoutMs).then(() => "timeout" as const);
  const code = await Promise.race([p.exited, timeout]);
  if (code === "timeout") throw new Error(`${what} did not finish in ${timeoutMs} ms\n${tail(p.lines)}`);
  return code;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A TCP port free on 127.0.0.1 (the OS picks it). */
async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}
async function portIsFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once("error", () => res(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => res(true)));
  });
}
/** A devnet base port P with P..P+n-1 (APIs) and P+100..P+100+n-1 (libp2p) all free. */
async function devnetBasePort(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const ports = Array.from({ length: n }, (_, i) => [base + i, base + 100 + i]).flat();
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return base;
  }
  throw new Error("no free port range for a devnet");
}

async function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

/** Polls `GET url` every `everyMs` until it answers (any status); returns ms since `t0` and the status. */
async function pollUntilAnswers(
  url: string,
  t0: number,
  p: Proc,
  everyMs = 10,
): Promise<{ t: number; status: number }> {
  const deadline = performance.now() + STEP_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (p.child.exitCode !== null) throw new Error(`process exited before ${url} answered\n${tail(p.lines)}`);
    const r = await httpGet(url, 1000);
    if (r !== undefined) return { t: performance.now() - t0, status: r.status };
    await sleep(everyMs);
  }
  throw new Error(`${url} did not answer\n${tail(p.lines)}`);
}

function rssKb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}
/** User + system CPU time of `pid` so far, in ms (from /proc/<pid>/stat; clock ticks of 10 ms). */
function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return undefined;
  }
}
function load(): string {
  return loadavg()
    .map((x) => x.toFixed(1))
    .join(" / ");
}
function hwmKb(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}
/** Direct children of `pid` (from /proc/<n>/stat). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

// ---- statistics and output ----------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;
const out: string[] = [];
function print(line = ""): void {
  out.push(line);
  process.stdout.write(`${line}\n`);
}
function table(head: string[], rows: string[][]): void {
  print(`| ${head.join(" | ")} |`);
  print(`|${head.map(() => "---").join("|")}|`);
  for (const r of rows) print(`| ${r.join(" | ")} |`);
  print();
}
const verdicts: string[] = [];
function verdict(name: string, value: string, target: string, ok: boolean): void {
  verdicts.push(`| ${name} | ${value} | ${target} | ${ok ? "met" : "**not met**"} |`);
}

// ---- the build tree -----------------------------------------------------------------------------

/** Copies what `npm run build` reads into TMP/repo, with node_modules linked to this checkout's. */
async function makeSandbox(): Promise<string> {
  const repo = join(TMP, "repo");
  await mkdir(repo, { recursive: true });
  await mkdir(join(repo, "scripts"), { recursive: true });
  for (const f of ["package.json", "tsconfig.base.json", "scripts/build-cli.mjs"]) {
    await cp(join(ROOT, f), join(repo, f), { recursive: true });
  }
  for (const pkg of ["core", "node"]) {
    for (const f of ["package.json", "tsconfig.json", "src"]) {
      await cp(join(ROOT, "packages", pkg, f), join(repo, "packages", pkg, f), { recursive: true });
    }
  }
  const nm = join(repo, "node_modules");
  await mkdir(nm);
  for (const entry of await readdir(join(ROOT, "node_modules"))) {
    if (entry === "@cardio") continue;
    await symlink(join(ROOT, "node_modules", entry), join(nm, entry));
  }
  await mkdir(join(nm, "@cardio"));
  for (const pkg of ["core", "node"])
    await symlink(join("..", "..", "packages", pkg), join(nm, "@cardio", pkg));
  return repo;
}

async function cleanDist(repo: string): Promise<void> {
  for (const pkg of ["core", "node"]) {
    await rm(join(repo, "packages", pkg, "dist"), { recursive: true, force: true });
    await rm(join(repo, "packages", pkg, "tsconfig.tsbuildinfo"), { force: true });
  }
}

const TIME_BIN = "/usr/bin/time";

/**
 * Runs a build command in `repo` and returns its wall time and, when /usr/bin/time exists, the CPU
 * time (user + system) of it and every process it waited for: less sensitive than wall time to
 * other load on the machine.
 */
async function timedBuild(repo: string, cmd: string[]): Promise<{ ms: number; cpuMs: number }> {
  const timed = existsSync(TIME_BIN);
  const [bin, ...args] = timed ? [TIME_BIN, "-f", "CPU %U %S", ...cmd] : cmd;
  const p = run(bin!, args, { cwd: repo });
  const code = await waitExit(p, cmd.join(" "));
  const ms = performance.now() - p.t0;
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (exit ${code})\n${tail(p.lines, 40)}`);
  const m = p.lines.map((l) => /^CPU ([\d.]+) ([\d.]+)$/.exec(l.line)).find((x) => x !== null);
  return { ms, cpuMs: m == null ? Number.NaN : (Number(m[1]) + Number(m[2])) * 1000 };
}

async function npmBuild(repo: string): Promise<{ ms: number; cpuMs: number }> {
  return timedBuild(repo, ["npm", "run", "build"]);
}

// ---- 1. first block ------------------------------------------------------------------------------

interface FirstBlock {
  label: string;
  kind: "npm-start" | "tsc";
  /** The build: `npm start`'s bundle (spawn → its "bundled" line) or a separate `npm run build`. */
  buildMs: number;
  buildCpuMs: number;
  /** Spawn → first "node started" line. */
  startedMs: number;
  /** Spawn → genesis time (what the devnet chose: its start + 1.5 s − one slot). */
  genesisMs: number;
  /** Spawn → first "(you, forged)" line. */
  forgedMs: number;
  /** Build + first forged: from `npm ci` done to the first block. */
  totalMs: number;
  forgedSlot: string;
  load: string;
  stopMs: number;
}

const FORGED = "(you, forged)";

/** Waits for the first node started and the first forged block of a devnet run, then stops it. */
async function firstForged(
  p: Proc,
  dir: string,
  wallSpawn: number,
): Promise<{ startedMs: number; genesisMs: number; forgedMs: number; forgedSlot: string; stopMs: number }> {
  const started = await p.waitLine((l) => l.includes("node started"), "a node to start");
  const forged = await p.waitLine((l) => l.includes(FORGED), "the first forged block");
  const genesis = JSON.parse(await readFile(join(dir, "genesis.json"), "utf8")) as {
    genesisTime: number | string;
  };
  return {
    startedMs: started.t,
    genesisMs: Number(genesis.genesisTime) - wallSpawn,
    forgedMs: forged.t,
    forgedSlot: /slot (\d+)/.exec(forged.line)?.[1] ?? "?",
    stopMs: await stop(p),
  };
}

/** The tsc build's devnet (`npm run build` done): `node packages/node/dist/bin/cardio.js devnet`. */
async function devnetFirstBlock(
  repo: string,
  label: string,
  build: { ms: number; cpuMs: number },
): Promise<FirstBlock> {
  const dir = join(TMP, `devnet-${label.replace(/\W+/g, "-")}`);
  const base = await devnetBasePort(4);
  const p = run(
    process.execPath,
    ["packages/node/dist/bin/cardio.js", "devnet", "--dir", dir, "--base-port", String(base)],
    { cwd: repo },
  );
  const wallSpawn = Date.now();
  try {
    const r = await firstForged(p, dir, wallSpawn);
    return {
      label,
      kind: "tsc",
      buildMs: build.ms,
      buildCpuMs: build.cpuMs,
      ...r,
      totalMs: build.ms + r.forgedMs,
      load: load(),
    };
  } finally {
    await stop(p);
    await sweep();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The exact `npm start` script (bundle, then `cardio devnet`), with `--dir/--base-port` appended by npm
 * to the devnet command, timed from spawning npm: everything after `npm ci`.
 */
async function npmStartFirstBlock(repo: string, label: string): Promise<FirstBlock> {
  const dir = join(TMP, `devnet-${label.replace(/\W+/g, "-")}`);
  const base = await devnetBasePort(4);
  const p = run("npm", ["start", "--", "--dir", dir, "--base-port", String(base)], { cwd: repo });
  const wallSpawn = Date.now();
  try {
    const bundled = await p.waitLine((l) => l.startsWith("bundled the cardio CLI"), "the bundle");
    const r = await firstForged(p, dir, wallSpawn);
    return {
      label,
      kind: "npm-start",
      buildMs: bundled.t,
      buildCpuMs: Number.NaN,
      ...r,
      totalMs: r.forgedMs,
      load: load(),
    };
  } finally {
    await stop(p);
    await sweep();
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchFirstBlock(repo: string): Promise<void> {
  print("## 1. First block: from `npm ci` done until the devnet's first `(you, forged)` line");
  print();
  const rows: FirstBlock[] = [];
  for (let i = 0; i < FIRST_BLOCK_RUNS; i++) {
    await cleanDist(repo);
    rows.push(await npmStartFirstBlock(repo, `\`npm start\`, clean checkout #${i + 1}`));
  }
  // For comparison: what `npm start` did before it bundled (a clean `npm run build`, then the tsc
  // build's devnet), in the same run.
  await cleanDist(repo);
  rows.push(
    await devnetFirstBlock(repo, "for comparison: clean `npm run build` + dist devnet", await npmBuild(repo)),
  );
  table(
    [
      "run",
      "build",
      "its CPU time",
      "→ first node started",
      "→ genesis time",
      "→ first forged",
      "slot",
      "**total (npm ci done → first block)**",
      "load avg 1/5/15 min",
    ],
    rows.map((r) => [
      r.label,
      r.kind === "npm-start" ? `${sec(r.buildMs)} (bundle, in npm start)` : `${sec(r.buildMs)} (tsc)`,
      Number.isNaN(r.buildCpuMs) ? "–" : sec(r.buildCpuMs),
      sec(r.startedMs),
      sec(r.genesisMs),
      sec(r.forgedMs),
      r.forgedSlot,
      `**${sec(r.totalMs)}**`,
      r.load,
    ]),
  );
  print(
    "Times of `npm start` rows are from spawning npm (npm itself, the esbuild bundle, the devnet's 4 node " +
      "processes, then the clock); those of the tsc row from spawning the devnet, after the build.",
  );
  print();
  const starts = rows.filter((r) => r.kind === "npm-start");
  const worst = Math.max(...starts.map((r) => r.totalMs));
  verdict(
    "npm ci done → devnet's first block (`npm start`)",
    sec(worst),
    "< 10 s",
    worst < TARGET_FIRST_BLOCK_MS,
  );
}

// ---- 2. restart on a 10,000-block data dir -------------------------------------------------------

async function loadDist(repo: string): Promise<{ core: Core; node: NodePkg; keyFile: KeyFileMod }> {
  const url = (p: string) => pathToFileURL(join(repo, p)).href;
  const core = (await import(url("packages/core/dist/index.js"))) as Core;
  const node = (await import(url("packages/node/dist/index.js"))) as NodePkg;
  const keyFile = (await import(url("packages/node/dist/cli/keyFile.js"))) as KeyFileMod;
  return { core, node, keyFile };
}

async function benchRestart(repo: string): Promise<void> {
  print(`## 2. Restart on a ${BLOCKS.toLocaleString("en")}-block data dir`);
  print();
  print(`Load average before: ${load()}.`);
  print();
  const { core, node, keyFile } = await loadDist(repo);
  const SLOT_MS = 1000;
  const { genesis, keys } = core.createDevnet({
    seed: "bench-node-restart",
    validators: 4,
    stakes: [100n, 50n, 25n, 10n],
    slotMs: SLOT_MS,
    // Far enough back that every block's slot has begun, and the node's clock is past the last one.
    genesisTime: Date.now() - (BLOCKS + 60) * SLOT_MS,
  });
  const byHex = new Map(keys.map((k) => [core.toHex(k.publicKey), k]));
  const dir = join(TMP, "restart");
  await mkdir(dir, { recursive: true });
  const genesisFile = join(dir, "genesis.json");
  const keyPath = join(dir, "node-0.key");
  await writeFile(genesisFile, `${JSON.stringify(core.genesisToJson(genesis), null, 2)}\n`);
  await keyFile.writeKeyFile(keyPath, keys[0]!);
  const pristine = join(dir, "data-pristine");

  // Build: the node's own store and chain, each block the lottery winner's, imported as "local".
  const tBuild = performance.now();
  {
    const store = node.createChainStore(node.createLevelKvStore({ dir: pristine }));
    await store.open();
    const chain = node.createChain({ genesis, store });
    await chain.start();
    for (let slot = 1; slot <= BLOCKS; slot++) {
      const parent = chain.head();
      const winner = core.lotteryWinner(parent.state, parent.hash, slot, genesis.minStake);
      if (winner === undefined) throw new Error("no validator");
      const built = core.buildBlock({
        config: genesis,
        parent,
        slot,
        key: byHex.get(winner.hex)!,
        candidates: [],
      });
      const r = await chain.importBlock(built.block, "local");
      if (r.status !== "imported") throw new Error(`block ${slot}: ${r.status}`);
    }
    if (chain.head().height !== BLOCKS) throw new Error(`head at ${chain.head().height}`);
    await store.close();
  }
  const buildMs = performance.now() - tBuild;
  const du = execFileSync("du", ["-sk", pristine], { encoding: "utf8" }).split("\t")[0];
  print(
    `Data dir: ${BLOCKS.toLocaleString("en")} empty blocks from a 4-validator devnet genesis, built and imported in ${sec(buildMs)} ` +
      `(${Math.round(BLOCKS / (buildMs / 1000))} blocks/s), ${mb(Number(du))} on disk.`,
  );
  print();

  // In-process: chain.start() on a copy of the data dir (what the node does before anything else).
  const inProc: Array<{
    openMs: number;
    startMs: number;
    cpuMs: number;
    readMs: number;
    fullMs: number;
    fullCpuMs: number;
  }> = [];
  for (let i = 0; i < RESTARTS; i++) {
    const copy = join(dir, `data-inproc-${i}`);
    await cp(pristine, copy, { recursive: true });
    const t0 = performance.now();
    const store = node.createChainStore(node.createLevelKvStore({ dir: copy }));
    await store.open();
    const t1 = performance.now();
    const chain = node.createChain({ genesis, store });
    const cpu0 = process.cpuUsage();
    await chain.start();
    const t2 = performance.now();
    const cpu = process.cpuUsage(cpu0);
    if (chain.head().height !== BLOCKS)
      throw new Error(`in-process restart at height ${chain.head().height}`);
    // The same store read and decode without validation: what the replay costs before any check.
    const t3 = performance.now();
    let n = 0;
    const decoded: Array<{ block: import("@cardio/core").Block; size: number }> = [];
    for await (const b of store.iterateAllBlocks()) {
      if (b.height > 0) decoded.push({ block: core.decodeBlock(b.bytes), size: b.bytes.length });
      n++;
    }
    const readMs = performance.now() - t3;
    if (n !== BLOCKS + 1) throw new Error(`iterated ${n} blocks`);
    // For comparison: full validation (`applyBlock`, signatures included) of the same blocks, on
    // blocks already read and decoded — what the replay cost per block before it trusted its store.
    const g = core.genesisBlock(genesis);
    let parent: import("@cardio/core").ParentRef = { hash: g.hash, height: 0, slot: 0, state: g.state };
    const cpu4 = process.cpuUsage();
    const t4 = performance.now();
    for (const { block, size } of decoded) {
      const a = core.applyBlock({ config: genesis, parent, block, encodedSize: size });
      parent = { hash: a.hash, height: block.header.height, slot: block.header.slot, state: a.state };
    }
    const fullMs = performance.now() - t4;
    const fullCpu = process.cpuUsage(cpu4);
    await store.close();
    await rm(copy, { recursive: true, force: true });
    inProc.push({
      openMs: t1 - t0,
      startMs: t2 - t1,
      cpuMs: (cpu.user + cpu.system) / 1000,
      readMs,
      fullMs,
      fullCpuMs: (fullCpu.user + fullCpu.system) / 1000,
    });
  }

  // Out of process: `cardio start` on a fresh copy each time; and once on an empty data dir for the fixed
  // cost. Both entry points: the tsc build (`npm run build`; the Docker image's) and the esbuild bundle
  // (`npm run bundle`; what `npm start` runs).
  const bundled = run(process.execPath, ["scripts/build-cli.mjs"], { cwd: repo });
  if ((await waitExit(bundled, "npm run bundle")) !== 0)
    throw new Error(`bundle failed\n${tail(bundled.lines)}`);
  const entries = [
    { name: "tsc build", bin: join(repo, "packages/node/dist/bin/cardio.js") },
    { name: "bundle", bin: join(repo, "packages/node/dist/bundle/cardio.mjs") },
  ];
  const runs: Array<{
    label: string;
    loadedMs: number;
    startedMs: number;
    healthMs: number;
    health: number;
    cpuMs: number;
    load: string;
    replayed: string;
    stopMs: number;
  }> = [];
  for (const { name, bin } of entries)
    for (let i = 0; i <= RESTARTS; i++) {
      const empty = i === 0;
      const data = join(dir, `data-run-${i}`);
      if (!empty) await cp(pristine, data, { recursive: true });
      const port = await freePort();
      const p = run(process.execPath, [
        bin,
        "start",
        "--key",
        keyPath,
        "--genesis",
        genesisFile,
        "--data-dir",
        data,
        "--api",
        String(port),
        "--no-mdns",
        "--log-format",
        "json",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
      ]);
      try {
        const health = await pollUntilAnswers(`http://127.0.0.1:${port}/health`, p.t0, p);
        const cpu = cpuMs(p.child.pid!) ?? Number.NaN;
        const started = await p.waitLine((l) => l.includes('"node started"'), "node started");
        const loaded = empty
          ? undefined
          : await p.waitLine((l) => l.includes("chain loaded from store"), "chain loaded");
        const fields =
          loaded === undefined
            ? {}
            : (JSON.parse(loaded.line) as { replayed?: number; snapshotHeight?: number });
        const replayed =
          loaded === undefined
            ? "0"
            : `${fields.replayed}${fields.snapshotHeight === undefined ? "" : ` (above the snapshot at ${fields.snapshotHeight})`}`;
        runs.push({
          label: `${name}: ${empty ? "empty data dir (fixed cost)" : `${BLOCKS.toLocaleString("en")} blocks #${i}`}`,
          loadedMs: loaded?.t ?? Number.NaN,
          startedMs: started.t,
          healthMs: health.t,
          health: health.status,
          cpuMs: cpu,
          load: load(),
          replayed,
          stopMs: await stop(p),
        });
        if (p.child.exitCode !== 0)
          throw new Error(`cardio start exited with ${p.child.exitCode}\n${tail(p.lines)}`);
      } finally {
        await stop(p);
        await rm(data, { recursive: true, force: true });
      }
    }
  print("`cardio start` (fresh process each run, `--no-mdns`, no peers), times from spawn:");
  print();
  table(
    [
      "run",
      "blocks replayed",
      '"chain loaded from store"',
      '"node started"',
      "GET /health answers",
      "status",
      "CPU used by then",
      "load avg 1/5/15 min",
      "stop (SIGINT → exit)",
    ],
    runs.map((r) => [
      r.label,
      r.replayed,
      Number.isNaN(r.loadedMs) ? "–" : sec(r.loadedMs),
      sec(r.startedMs),
      `**${sec(r.healthMs)}**`,
      String(r.health),
      sec(r.cpuMs),
      r.load,
      sec(r.stopMs),
    ]),
  );
  print("In this process (warm JIT), on a copy of the same data dir:");
  print();
  table(
    [
      "run",
      "store open",
      "`chain.start()` (replay)",
      "its CPU time",
      "per block",
      "read + decode only",
      "for comparison: `applyBlock` on the decoded blocks (full validation, signatures too)",
      "its CPU time",
    ],
    inProc.map((r, i) => [
      `#${i + 1}`,
      sec(r.openMs),
      `**${sec(r.startMs)}**`,
      sec(r.cpuMs),
      `${((r.startMs * 1000) / BLOCKS).toFixed(0)} µs`,
      sec(r.readMs),
      sec(r.fullMs),
      sec(r.fullCpuMs),
    ]),
  );
  const worst = Math.max(...runs.filter((r) => !r.label.includes("empty")).map((r) => r.healthMs));
  verdict(
    `restart on ${BLOCKS.toLocaleString("en")} blocks → /health answers`,
    sec(worst),
    "< 3 s",
    worst < TARGET_RESTART_MS,
  );
}

// ---- 3. idle RSS ----------------------------------------------------------------------------------

interface RssStats {
  min: number;
  med: number;
  max: number;
  last: number;
  hwm: number;
}
function stats(samples: number[], hwm: number): RssStats {
  return {
    min: Math.min(...samples),
    med: median(samples),
    max: Math.max(...samples),
    last: samples.at(-1)!,
    hwm,
  };
}

function metricValue(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text);
  return m === null ? undefined : Number(m[1]);
}

/** NODE_OPTIONS of the comparison runs: a 1 MB young-generation semi-space instead of V8's 16 MB. */
const SMALL_YOUNG_GEN = "--max-semi-space-size=1";

/** Samples VmRSS of `pids` once a second for IDLE_S s (and heap used from each node's /metrics). */
async function sampleIdle(
  pids: Map<number, { name: string; api: number }>,
  d: Proc,
): Promise<Array<{ name: string; pid: number; rss: RssStats; heapMb: number[] }>> {
  const rss = new Map<number, number[]>();
  const heap = new Map<number, number[]>();
  for (let s = 0; s < IDLE_S; s++) {
    await sleep(1000);
    for (const [pid, { api }] of pids) {
      const kb = rssKb(pid);
      if (kb === undefined) throw new Error(`node ${pid} exited while idle\n${tail(d.lines)}`);
      rss.set(pid, [...(rss.get(pid) ?? []), kb]);
      const m = await httpGet(`http://127.0.0.1:${api}/metrics`);
      const h = m === undefined ? undefined : metricValue(m.body, "cardio_nodejs_heap_size_used_bytes");
      if (h !== undefined) heap.set(pid, [...(heap.get(pid) ?? []), h / 2 ** 20]);
    }
  }
  return [...pids.entries()]
    .map(([pid, { name }]) => ({
      name,
      pid,
      rss: stats(rss.get(pid)!, hwmKb(pid) ?? Number.NaN),
      heapMb: heap.get(pid) ?? [],
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function heapCell(xs: number[]): string {
  return xs.length === 0 ? "n/a" : `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} MB`;
}

async function benchRss(repo: string): Promise<void> {
  print(`## 3. Idle RSS (${IDLE_S} s, one VmRSS sample per second)`);
  print();
  print(`Load average before: ${load()}.`);
  print();
  const { core, keyFile } = await loadDist(repo);
  const bin = join(repo, "packages/node/dist/bin/cardio.js");
  const dir = join(TMP, "rss");
  await mkdir(dir, { recursive: true });

  // One node, alone: a single-validator genesis, so it forges every slot; no peers, no transactions.
  const single = async (nodeOptions: string | undefined) => {
    const { genesis, keys } = core.createDevnet({
      seed: "bench-node-rss",
      validators: 1,
      genesisTime: Date.now(),
    });
    const genesisFile = join(dir, "genesis.json");
    const keyPath = join(dir, "node.key");
    await writeFile(genesisFile, `${JSON.stringify(core.genesisToJson(genesis), null, 2)}\n`);
    await keyFile.writeKeyFile(keyPath, keys[0]!, { force: true });
    const data = join(dir, "data");
    await rm(data, { recursive: true, force: true });
    const port = await freePort();
    const p = run(
      process.execPath,
      [
        bin,
        "start",
        "--key",
        keyPath,
        "--genesis",
        genesisFile,
        "--data-dir",
        data,
        "--api",
        String(port),
        "--no-mdns",
        "--log-format",
        "json",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
      ],
      nodeOptions === undefined ? {} : { env: { NODE_OPTIONS: nodeOptions } },
    );
    try {
      await pollUntilAnswers(`http://127.0.0.1:${port}/health`, p.t0, p);
      const [sample] = await sampleIdle(new Map([[p.child.pid!, { name: "node", api: port }]]), p);
      const st = await httpGet(`http://127.0.0.1:${port}/status`);
      const height =
        st === undefined ? "?" : String((JSON.parse(st.body) as { head?: { height?: number } }).head?.height);
      return { ...sample!, height };
    } finally {
      await stop(p);
      await sweep();
    }
  };

  // A 4-node `cardio devnet`: each node process, and the launcher.
  const devnet = async (nodeOptions: string | undefined) => {
    const devDir = join(dir, "devnet");
    await rm(devDir, { recursive: true, force: true });
    const base = await devnetBasePort(4);
    const d = run(
      process.execPath,
      [bin, "devnet", "--dir", devDir, "--base-port", String(base)],
      nodeOptions === undefined ? {} : { env: { NODE_OPTIONS: nodeOptions } },
    );
    try {
      for (let i = 0; i < 4; i++) await pollUntilAnswers(`http://127.0.0.1:${base + i}/health`, d.t0, d);
      await d.waitLine((l) => l.includes(FORGED), "a forged block");
      const pids = new Map<number, { name: string; api: number }>();
      for (const pid of childPids(d.child.pid!)) {
        const i = /node-(\d+)\.key/.exec(cmdline(pid))?.[1];
        if (i !== undefined) pids.set(pid, { name: `node-${i}`, api: base + Number(i) });
      }
      if (pids.size !== 4) throw new Error(`expected 4 node processes, found ${pids.size}`);
      const launcherKb = rssKb(d.child.pid!) ?? Number.NaN;
      const nodes = await sampleIdle(pids, d);
      const st = await httpGet(`http://127.0.0.1:${base}/status`);
      const j =
        st === undefined ? {} : (JSON.parse(st.body) as { peers?: number; head?: { height?: number } });
      return { nodes, launcherKb, peers: `${j.peers} peers, height ${j.head?.height}` };
    } finally {
      await stop(d);
      await sweep();
    }
  };

  const variants = [
    { label: "default", nodeOptions: undefined },
    { label: `\`NODE_OPTIONS=${SMALL_YOUNG_GEN}\` (comparison)`, nodeOptions: SMALL_YOUNG_GEN },
  ];
  const head = [
    "node options",
    "process",
    "min",
    "median",
    "max",
    "last",
    "peak (VmHWM)",
    "heap used (min–max)",
  ];
  const rowOf = (label: string, name: string, r: RssStats, heap: number[]) => [
    label,
    name,
    mb(r.min),
    `**${mb(r.med)}**`,
    mb(r.max),
    mb(r.last),
    mb(r.hwm),
    heapCell(heap),
  ];

  const singleRows: string[][] = [];
  let singleDefault: RssStats | undefined;
  let heights = "";
  for (const v of variants) {
    const r = await single(v.nodeOptions);
    singleDefault ??= r.rss;
    heights += `${heights === "" ? "" : ", "}${r.height}`;
    singleRows.push(rowOf(v.label, "node", r.rss, r.heapMb));
  }
  print(
    `One \`cardio start\`, single-validator genesis, no peers, no transactions (forged alone to heights ${heights}):`,
  );
  print();
  table(head, singleRows);

  const devnetRows: string[][] = [];
  let worstDevnet: number | undefined;
  let peers = "";
  for (const v of variants) {
    const r = await devnet(v.nodeOptions);
    worstDevnet ??= Math.max(...r.nodes.map((n) => n.rss.med));
    peers += `${peers === "" ? "" : "; "}${r.peers}`;
    for (const n of r.nodes) devnetRows.push(rowOf(v.label, `${n.name} (pid ${n.pid})`, n.rss, n.heapMb));
    devnetRows.push([v.label, "devnet launcher", "", mb(r.launcherKb), "", "", "", ""]);
  }
  print(`4-node \`cardio devnet\` (node-0 at the end: ${peers}), per process:`);
  print();
  table(head, devnetRows);

  verdict(
    "idle node RSS (alone), median",
    mb(singleDefault!.med),
    "< 120 MB",
    singleDefault!.med / 1024 < TARGET_RSS_MB,
  );
  verdict(
    "idle node RSS (4-node devnet), worst median",
    mb(worstDevnet!),
    "< 120 MB",
    worstDevnet! / 1024 < TARGET_RSS_MB,
  );
}

// ---- main -----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const cpu = cpus()[0]?.model ?? "?";
  print("# cardio node benchmark");
  print();
  print(
    `${new Date().toISOString()} · Node ${process.version} · ${cpus().length} × ${cpu.trim()} · ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM (${(freemem() / 2 ** 30).toFixed(1)} free) · ` +
      `load avg ${load()} · build: ${IN_PLACE ? "in place" : "sandbox copy"}`,
  );
  print();
  let repo: string;
  if (IN_PLACE) {
    repo = ROOT;
  } else {
    repo = await makeSandbox();
  }
  try {
    if (ONLY.has("first-block")) await benchFirstBlock(repo);
    else await npmBuild(repo); // parts 2 and 3 run the built dist
    if (ONLY.has("restart")) await benchRestart(repo);
    if (ONLY.has("rss")) await benchRss(repo);
  } finally {
    // In place, leave a complete build behind whatever happened (a failed run may have deleted dist).
    if (IN_PLACE && !existsSync(join(ROOT, "packages/node/dist/bin/cardio.js"))) await npmBuild(ROOT);
  }
  print("## Targets");
  print();
  print("| target | measured | goal | |");
  print("|---|---|---|---|");
  for (const v of verdicts) print(v);
  print();
}

try {
  await main();
} catch (err) {
  process.stderr.write(
    `bench-node failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
} finally {
  cleanupSync();
}
