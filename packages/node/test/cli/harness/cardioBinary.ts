import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCli } from "../../../../../scripts/build-cli.mjs";

/*
 * How the tests run `cardio`: the real entry point (src/bin/cardio.ts) as its own process, built
 * from the TypeScript sources so `npm test` needs no prior `npm run build`.
 *
 * By default the same esbuild bundle `npm start` runs (scripts/build-cli.mjs: the CLI with its
 * packages, classic-level excepted, in a few files; ~0.3–1 s to build once per test file), so the tests
 * exercise what ships, and each spawn loads one bundle instead of hundreds of files from node_modules
 * (`cardio start` ~0.4 s of CPU instead of ~0.9 s; `node --import tsx src/bin/cardio.ts` ~0.85 s
 * before it runs anything). esbuild is a devDependency; without it, tsx is the fallback. Either way
 * `@cardio/core` comes from its sources too, never from a stale dist.
 */

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root. */
export const ROOT = resolve(here, "../../../../..");
const ENTRY = join(ROOT, "packages/node/src/bin/cardio.ts");
const TSCONFIG = join(here, "..", "tsconfig.cli.json");

/** How to run `cardio`: `node`, then `argv`, then cardio's own arguments. */
export interface CardioCommand {
  argv: string[];
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** Prepares a runnable `cardio` from the sources (see the note at the top of this file). */
export async function prepareCardio(): Promise<CardioCommand> {
  try {
    await import("esbuild");
  } catch {
    return {
      argv: ["--import", "tsx", ENTRY],
      env: { TSX_TSCONFIG_PATH: TSCONFIG },
      cleanup: async () => {},
    };
  }
  // Under node_modules so the bundle's one external import (classic-level) resolves from the root.
  const dir = join(ROOT, "node_modules", ".cache", "cardio-cli-test", `${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  let entry: string;
  try {
    // No source maps: with them each spawn costs ~0.15 s more CPU (the maps of every bundled package).
    entry = await buildCli({ outdir: dir });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    argv: [entry],
    env: {},
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The outcome of one `cardio` run. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time of the run in ms. */
  ms: number;
}

/** Options of `runCardio`. */
export interface RunOptions {
  cwd?: string;
  /** Extra environment; every inherited `CARDIO_*` variable is removed first. */
  env?: Record<string, string>;
  /** Written to stdin, which is then closed (stdin is always a pipe: never a terminal). */
  input?: string;
  timeoutMs?: number;
}

/** The parent's environment without `CARDIO_*`, so a developer's settings cannot change a test. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("CARDIO_")) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs `cardio <args>` to completion. */
export function runCardio(cmd: CardioCommand, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...cmd.argv, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: cleanEnv({ ...cmd.env, ...opts.env }),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`cardio ${args.join(" ")} timed out; stdout: ${stdout} stderr: ${stderr}`));
    }, opts.timeoutMs ?? 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.end(opts.input ?? "");
  });
}

/** True when `stderr` is exactly one line `error: …` (what every user error must look like). */
export function isOneLineError(stderr: string): boolean {
  return /^error: [^\n]+\n$/.test(stderr);
}
