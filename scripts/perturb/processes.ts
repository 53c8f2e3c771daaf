import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import type { Host } from "./topology.js";

/*
 * One long-running process of the harness (a `cardio start` or the double signer): spawned inside
 * its host (namespace or loopback), output appended to a log file, every exit recorded with whether
 * the harness caused it. Signals go to the process's own pid, never to a name or a group: under
 * `ip netns exec` the pid is the node's (ip execs it).
 */

/** One exit of a process. */
export interface ExitRecord {
  pid: number;
  code: number | null;
  signal: string | null;
  /** What the harness did that explains it (`kill -9`, `SIGTERM at the end`), or undefined: a crash. */
  expected?: string;
  at: number;
}

export type ProcState = "never-started" | "running" | "paused" | "exited";

/** Keeps the last lines of a process's output for reports. */
class Tail {
  private lines: string[] = [];
  private partial = "";
  constructor(private readonly max: number) {}
  push(chunk: string): void {
    const parts = (this.partial + chunk).split("\n");
    this.partial = parts.pop() ?? "";
    this.lines.push(...parts);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  get(): string[] {
    return this.partial === "" ? [...this.lines] : [...this.lines, this.partial];
  }
}

/** Options of a managed process. */
export interface ManagedOptions {
  name: string;
  host: Host;
  /** `node` argv after the executable (script and its arguments) for a given start. */
  argv: () => string[];
  env: Record<string, string>;
  logFile: string;
  /** Called with each complete output line (e.g. to watch for events). */
  onLine?: (line: string) => void;
}

export class ManagedProcess {
  readonly name: string;
  readonly host: Host;
  readonly exits: ExitRecord[] = [];
  /** Lines at level error (50) or fatal (60) in JSON logs, and anything that looks like a crash. */
  readonly badLines: string[] = [];
  private child: ChildProcess | undefined;
  private exitPromise: Promise<void> | undefined;
  private paused = false;
  private pendingExpectation: string | undefined;
  private readonly tail = new Tail(200);
  private readonly log: WriteStream;
  private starts = 0;

  constructor(private readonly opts: ManagedOptions) {
    this.name = opts.name;
    this.host = opts.host;
    this.log = createWriteStream(opts.logFile, { flags: "a" });
  }

  get state(): ProcState {
    if (this.child === undefined) return this.starts === 0 ? "never-started" : "exited";
    return this.paused ? "paused" : "running";
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get startCount(): number {
    return this.starts;
  }

  lastLines(n = 30): string[] {
    return this.tail.get().slice(-n);
  }

  start(): void {
    if (this.child !== undefined) throw new Error(`${this.name} is already running`);
    this.starts++;
    const argv = [...this.opts.host.wrap, process.execPath, ...this.opts.argv()];
    const child = spawn(argv[0]!, argv.slice(1), { env: this.opts.env, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.paused = false;
    this.log.write(`\n==== ${new Date().toISOString()} start #${this.starts}: ${argv.join(" ")}\n`);
    let partial = "";
    const onData = (d: string) => {
      this.log.write(d);
      this.tail.push(d);
      const parts = (partial + d).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) this.inspect(line);
    };
    child.stdout?.setEncoding("utf8").on("data", onData);
    child.stderr?.setEncoding("utf8").on("data", onData);
    child.on("error", (err) => {
      this.log.write(`\n==== spawn error: ${String(err)}\n`);
    });
    this.exitPromise = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        const rec: ExitRecord = {
          pid: child.pid ?? -1,
          code,
          signal,
          at: Date.now(),
          ...(this.pendingExpectation === undefined ? {} : { expected: this.pendingExpectation }),
        };
        this.pendingExpectation = undefined;
        this.exits.push(rec);
        this.log.write(`\n==== ${new Date().toISOString()} exit code=${code} signal=${signal}\n`);
        if (this.child === child) {
          this.child = undefined;
          this.paused = false;
        }
        resolve();
      });
    });
  }

  private inspect(line: string): void {
    this.opts.onLine?.(line);
    if (line.startsWith("{")) {
      try {
        const j = JSON.parse(line) as { level?: number };
        if ((j.level ?? 0) >= 50) this.badLines.push(line);
      } catch {
        // not JSON
      }
    } else if (/Unhandled|uncaught|FATAL|Error: |at .*\(.*:\d+:\d+\)/.test(line)) {
      this.badLines.push(line);
    }
  }

  private signal(sig: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error(`${this.name} is not running`);
    process.kill(pid, sig);
  }

  /** `kill -9`; resolves once it has exited. */
  async kill9(reason = "kill -9 (perturbation)"): Promise<void> {
    const done = this.exitPromise;
    this.pendingExpectation = reason;
    if (this.paused) this.paused = false;
    this.signal("SIGKILL");
    await done;
  }

  pause(): void {
    this.signal("SIGSTOP");
    this.paused = true;
  }

  resume(): void {
    this.signal("SIGCONT");
    this.paused = false;
  }

  /** SIGTERM (after SIGCONT if paused); resolves with the exit record, or SIGKILLs after `graceMs`. */
  async stop(reason: string, graceMs = 15_000): Promise<ExitRecord | undefined> {
    if (this.child === undefined) return undefined;
    const done = this.exitPromise!;
    if (this.paused) this.resume();
    this.pendingExpectation = reason;
    this.signal("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      done.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut && this.child !== undefined) {
      this.pendingExpectation = `${reason}: did not stop within ${graceMs} ms, SIGKILLed`;
      this.signal("SIGKILL");
      await done;
    }
    return this.exits[this.exits.length - 1];
  }

  /** Waits for the current process to exit. */
  async exited(): Promise<void> {
    await this.exitPromise;
  }

  async closeLog(): Promise<void> {
    await new Promise<void>((r) => this.log.end(r));
  }
}
