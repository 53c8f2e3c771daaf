import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import type { Host, NetnsRun } from "./netns.js";
import { dependencyState, type ServicePlan } from "./plan.js";

/*
 * Runs compose services as host processes inside their namespaces, as `docker compose up` runs
 * containers: each starts once the services it depends on meet their condition
 * (service_started / service_healthy / service_completed_successfully), its healthcheck runs
 * inside its namespace on Docker's schedule, and `restart: on-failure` / `always` restart it.
 */

export type Health = "none" | "starting" | "healthy" | "unhealthy";

/** What is known about one service. */
export interface ServiceState {
  plan: ServicePlan;
  host: Host;
  started: boolean;
  running: boolean;
  pid?: number;
  /** Exit code of the last run (null: killed by a signal); undefined while never exited. */
  exitCode: number | null | undefined;
  restarts: number;
  health: Health;
  /** ms since the supervisor started, of the first healthy check. */
  healthyAtMs?: number;
  startedAtMs?: number;
  exitedAtMs?: number;
  /** Set when it could not start because a dependency failed. */
  blocked?: string;
  /** Last output lines. */
  tail: string[];
}

export interface SupervisorOptions {
  run: NetnsRun;
  plans: Array<{ plan: ServicePlan; host: Host }>;
  /** Where each service's output goes (one file per service). */
  logFile(service: string): string;
  /** Echo every output line, prefixed by the service name, as `docker compose up` does. */
  echo?: (line: string) => void;
  /** Delay before a restart, in ms (Docker starts at 100 ms and doubles; 1 s is plenty here). */
  restartDelayMs?: number;
}

const TAIL_LINES = 60;

export class Supervisor {
  readonly states = new Map<string, ServiceState>();
  private readonly children = new Map<string, ChildProcess>();
  private readonly logs = new Map<string, WriteStream>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly t0 = Date.now();
  private stopping = false;
  private readonly nameWidth: number;

  constructor(private readonly opts: SupervisorOptions) {
    for (const { plan, host } of opts.plans) {
      this.states.set(plan.service.name, {
        plan,
        host,
        started: false,
        running: false,
        exitCode: undefined,
        restarts: 0,
        health: plan.service.healthcheck === undefined ? "none" : "starting",
        tail: [],
      });
    }
    this.nameWidth = Math.max(...opts.plans.map((p) => p.plan.service.name.length));
  }

  /** ms since the supervisor was created. */
  elapsed(): number {
    return Date.now() - this.t0;
  }

  /** Starts every service whose dependencies allow it, and keeps doing so as states change. */
  start(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.stopping) return;
    for (const st of this.states.values()) {
      if (st.started || st.blocked !== undefined) continue;
      let ready = true;
      for (const [dep, condition] of Object.entries(st.plan.service.dependsOn)) {
        const d = this.states.get(dep)!;
        const s = dependencyState(condition, {
          started: d.started,
          healthy: d.health === "healthy",
          unhealthy: d.health === "unhealthy",
          exitCode: d.exitCode,
          running: d.running,
        });
        if (s === "failed") {
          st.blocked = `dependency ${dep} failed its condition ${condition}`;
          this.note(st.plan.service.name, st.blocked);
        }
        if (s !== "met") ready = false;
      }
      if (ready && st.blocked === undefined) this.launch(st);
    }
  }

  private launch(st: ServiceState): void {
    const name = st.plan.service.name;
    const { plan, host } = st;
    const argv = this.opts.run.exec(host, plan.argv);
    // Its own process group, so it can be signalled as a whole (a shell and what it runs).
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: plan.cwd,
      env: plan.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.children.set(name, child);
    st.started = true;
    st.running = true;
    st.pid = child.pid;
    st.startedAtMs ??= this.elapsed();
    let log = this.logs.get(name);
    if (log === undefined) {
      log = createWriteStream(this.opts.logFile(name), { flags: "a" });
      this.logs.set(name, log);
    }
    const onData = lineSplitter((line) => this.output(st, line));
    child.stdout?.setEncoding("utf8").on("data", onData);
    child.stderr?.setEncoding("utf8").on("data", onData);
    child.on("error", (err) => this.output(st, `spawn failed: ${err.message}`));
    child.on("exit", (code, signal) => {
      st.running = false;
      st.exitCode = code;
      st.exitedAtMs = this.elapsed();
      this.children.delete(name);
      this.note(name, `exited with ${code === null ? `signal ${signal}` : `code ${code}`}`);
      const policy = plan.service.restart;
      const restart = !this.stopping && (policy === "always" || (policy === "on-failure" && code !== 0));
      if (restart) {
        this.later(this.opts.restartDelayMs ?? 1000, () => {
          if (this.stopping) return;
          st.restarts++;
          this.note(name, `restarting (restart: ${policy}, restart ${st.restarts})`);
          this.launch(st);
        });
      }
      this.schedule();
    });
    if (plan.service.healthcheck !== undefined && st.restarts === 0) this.healthLoop(st);
    this.schedule();
  }

  /** Docker's schedule: the first check one interval after start, then every interval. */
  private healthLoop(st: ServiceState): void {
    const hc = st.plan.service.healthcheck!;
    let failures = 0;
    const tick = async (): Promise<void> => {
      if (this.stopping) return;
      if (st.running) {
        const ok = await this.healthcheck(st);
        if (this.stopping) return;
        const inStartPeriod =
          st.startedAtMs !== undefined && this.elapsed() - st.startedAtMs < hc.startPeriodMs;
        if (ok) {
          failures = 0;
          if (st.health !== "healthy") {
            st.health = "healthy";
            st.healthyAtMs ??= this.elapsed();
            this.note(st.plan.service.name, "healthy");
            this.schedule();
          }
        } else if (!(inStartPeriod && st.health !== "healthy")) {
          failures++;
          if (failures >= hc.retries && st.health !== "unhealthy") {
            st.health = "unhealthy";
            this.note(st.plan.service.name, `unhealthy after ${failures} failed checks`);
            this.schedule();
          }
        }
      }
      this.later(hc.intervalMs, () => void tick());
    };
    this.later(hc.intervalMs, () => void tick());
  }

  /** Runs the service's healthcheck command inside its namespace, with its environment. */
  private healthcheck(st: ServiceState): Promise<boolean> {
    const hc = st.plan.service.healthcheck!;
    const inner = hc.kind === "CMD-SHELL" ? ["/bin/sh", "-c", hc.argv[0]!] : hc.argv;
    const argv = this.opts.run.exec(
      st.host,
      inner.map((a, i) => (i === 0 && a === "node" ? process.execPath : a)),
    );
    return new Promise((resolve) => {
      const child = spawn(argv[0]!, argv.slice(1), { cwd: st.plan.cwd, env: st.plan.env, stdio: "ignore" });
      const timer = setTimeout(() => child.kill("SIGKILL"), hc.timeoutMs);
      child.on("error", () => {
        clearTimeout(timer);
        resolve(false);
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolve(code === 0);
      });
    });
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private output(st: ServiceState, line: string): void {
    const name = st.plan.service.name;
    st.tail.push(line);
    if (st.tail.length > TAIL_LINES) st.tail.shift();
    this.logs.get(name)?.write(`${line}\n`);
    this.opts.echo?.(`${name.padEnd(this.nameWidth)}  | ${line}`);
  }

  private note(service: string, text: string): void {
    const st = this.states.get(service);
    const line = `[compose-netns] ${text}`;
    if (st !== undefined) this.output(st, line);
  }

  /** Stops every service: SIGTERM to its process group, SIGKILL after `graceMs`. */
  async stop(graceMs = 8000): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const exits = [...this.children.entries()].map(
      ([name, child]) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const kill = setTimeout(() => {
            this.note(name, `still running ${graceMs} ms after SIGTERM: SIGKILL`);
            signalGroup(child, "SIGKILL");
          }, graceMs);
          child.once("exit", () => {
            clearTimeout(kill);
            resolve();
          });
          signalGroup(child, "SIGTERM");
        }),
    );
    await Promise.all(exits);
    await Promise.all(
      [...this.logs.values()].map((l) => new Promise<void>((resolve) => l.end(() => resolve()))),
    );
    this.logs.clear();
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // gone
    }
  }
}

function lineSplitter(onLine: (line: string) => void): (chunk: string) => void {
  let buf = "";
  return (chunk) => {
    buf += chunk;
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      onLine(buf.slice(0, nl).replace(/\r$/, ""));
      buf = buf.slice(nl + 1);
      nl = buf.indexOf("\n");
    }
  };
}
