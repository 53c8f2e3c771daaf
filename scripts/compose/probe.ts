import { type ChildProcess, spawn } from "node:child_process";
import type { Host, NetnsRun } from "./netns.js";

/*
 * The harness's eyes on the compose network: one long-lived `node` inside its own namespace on the
 * bridge (as the Docker host is on a compose network), which fetches URLs it is sent as JSON lines
 * on stdin and answers on stdout. One process for the whole run, instead of one per request.
 */

const AGENT = `
const rl = require("node:readline").createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  const { id, url, timeoutMs } = JSON.parse(line);
  let reply;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body;
    try { body = JSON.parse(text); } catch { body = text; }
    reply = { id, status: res.status, body };
  } catch (err) {
    reply = { id, error: String(err && err.cause ? err.cause.code || err.cause.message : err && err.message) };
  }
  process.stdout.write(JSON.stringify(reply) + "\\n");
});
rl.on("close", () => process.exit(0));
`;

export interface ProbeReply {
  status?: number;
  body?: unknown;
  error?: string;
}

export class Probe {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, (r: ProbeReply) => void>();
  private buf = "";

  constructor(run: NetnsRun, host: Host) {
    const argv = run.exec(host, [process.execPath, "-e", AGENT]);
    this.child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["pipe", "pipe", "inherit"],
      env: { PATH: process.env.PATH ?? "" },
    });
    this.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      this.buf += chunk;
      let nl = this.buf.indexOf("\n");
      while (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        nl = this.buf.indexOf("\n");
        const reply = JSON.parse(line) as ProbeReply & { id: number };
        this.waiting.get(reply.id)?.(reply);
        this.waiting.delete(reply.id);
      }
    });
    this.child.on("exit", () => {
      for (const resolve of this.waiting.values()) resolve({ error: "probe exited" });
      this.waiting.clear();
    });
  }

  /** GET `url` from inside the probe namespace. */
  get(url: string, timeoutMs = 3000): Promise<ProbeReply> {
    if (this.child.exitCode !== null || this.child.stdin === null)
      return Promise.resolve({ error: "probe exited" });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id, url, timeoutMs })}\n`);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  }
}
