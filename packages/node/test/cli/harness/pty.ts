import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { type CardioCommand, cleanEnv, ROOT } from "./cardioBinary.js";

/*
 * Runs `cardio` on a pseudo-terminal, as a person at a terminal would, with util-linux `script`
 * (present on Debian): `script -qfec CMD /dev/null` runs CMD on a new pty, copies our writes to
 * it and its output to us, and exits with CMD's exit code.
 */

/** True when `script` can be run here. */
export async function hasScript(): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn("script", ["-qfec", "true", "/dev/null"], { stdio: "ignore" });
    p.on("error", () => resolve(false));
    p.on("close", (code) => resolve(code === 0));
  });
}

/** A process on a pty. */
export interface PtySession {
  /** Types `text` (use "\r" for Enter, "\x04" for Ctrl-D, "\x03" for Ctrl-C). */
  write(text: string): void;
  /** Everything printed so far, with terminal escape sequences and carriage returns removed. */
  output(): string;
  /** Resolves once `output()` matches `pattern` (counting only output after `fromIndex`). */
  waitFor(pattern: RegExp, opts?: { fromIndex?: number; timeoutMs?: number }): Promise<void>;
  /** The exit code. */
  readonly exited: Promise<number | null>;
  kill(): void;
}

const ANSI_RE = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]/g;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Starts `cardio <args>` on a pty of 120 columns. */
export function startOnPty(cmd: CardioCommand, args: string[], env: Record<string, string> = {}): PtySession {
  const line = [process.execPath, ...cmd.argv, ...args].map(shellQuote).join(" ");
  const child: ChildProcessWithoutNullStreams = spawn(
    "script",
    ["-qfec", `stty cols 120 rows 40; exec ${line}`, "/dev/null"],
    { cwd: ROOT, env: cleanEnv({ ...cmd.env, ...env, SHELL: "/bin/sh", TERM: "xterm" }) },
  );
  let raw = "";
  const listeners = new Set<() => void>();
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    raw += d;
    for (const l of listeners) l();
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    raw += d;
    for (const l of listeners) l();
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const output = (): string => raw.replace(ANSI_RE, "").replace(/\r/g, "");
  return {
    write: (text) => {
      child.stdin.write(text);
    },
    output,
    waitFor: (pattern, opts = {}) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          if (!pattern.test(output().slice(opts.fromIndex ?? 0))) return false;
          listeners.delete(onData);
          clearTimeout(timer);
          resolve();
          return true;
        };
        const onData = (): void => {
          check();
        };
        const timer = setTimeout(() => {
          listeners.delete(onData);
          reject(new Error(`timed out waiting for ${pattern}; output so far:\n${output()}`));
        }, opts.timeoutMs ?? 10_000);
        listeners.add(onData);
        check();
      }),
    exited,
    kill: () => child.kill("SIGKILL"),
  };
}
