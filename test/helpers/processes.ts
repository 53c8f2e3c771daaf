import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { cleanEnv } from "../../packages/node/test/cli/harness/cardioBinary.js";

/** A free TCP port on loopback (bound then released: good enough for tests that start at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A long-running `cardio` process with its output collected. */
export interface CardioProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal name) once it exits. */
  exited: Promise<number | string>;
}

/** Spawns `node <argv> <args>` and keeps its stdout+stderr. */
export function spawnCardio(argv: string[], env: Record<string, string>, args: string[]): CardioProcess {
  const child = spawn(process.execPath, [...argv, ...args], {
    env: cleanEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  return { child, output: () => out, exited };
}

/** GET a JSON document, or undefined when the server is not answering. */
export async function getJson(url: string): Promise<{ status: number; body: unknown } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return { status: res.status, body: await res.json() };
  } catch {
    return undefined;
  }
}
