import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/*
 * How the tests run `cardio`: the real entry point (src/bin/cardio.ts) as its own process, built
 * from the TypeScript sources so `npm test` needs no prior `npm run build`.
 *
 * Measured on the 2-core machines: `node --import tsx src/bin/cardio.ts` starts in ~0.85 s,
 * `node dist/bin/cardio.js` in ~0.25 s, and an esbuild bundle of the sources (~0.1 s to build,
 * once per test file) in ~0.25 s. With some 60 spawns the bundle saves most of a minute, so it is
 * the default; esbuild is installed as a dependency of tsx and vite. Without it, tsx is the
 * fallback. Either way `@cardio/core` comes from its sources too, never from a stale dist.
 */

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root. */
export const ROOT = resolve(here, "../../../../..");
const ENTRY = join(ROOT, "packages/node/src/bin/cardio.ts");
const CORE_SRC = join(ROOT, "packages/core/src/index.ts");
const TSCONFIG = join(here, "..", "tsconfig.cli.json");

/** How to run `cardio`: `node`, then `argv`, then cardio's own arguments. */
export interface CardioCommand {
  argv: string[];
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** Prepares a runnable `cardio` from the sources (see the note at the top of this file). */
export async function prepareCardio(): Promise<CardioCommand> {
  let esbuild: typeof import("esbuild") | undefined;
  try {
    esbuild = await import("esbuild");
  } catch {
    esbuild = undefined;
  }
  if (esbuild === undefined) {
    return {
      argv: ["--import", "tsx", ENTRY],
      env: { TSX_TSCONFIG_PATH: TSCONFIG },
      cleanup: async () => {},
    };
  }
  // Under node_modules so the bundle's bare imports (commander, multiformats…) resolve from the root.
  const dir = join(ROOT, "node_modules", ".cache", "cardio-cli-test", `${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  try {
    await esbuild.build({
      entryPoints: { cardio: ENTRY },
      outdir: dir,
      outExtension: { ".js": ".mjs" },
      // Dynamic imports stay lazy chunks, as in the tsc build: `cardio status` must not load libp2p.
      splitting: true,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      alias: { "@cardio/core": CORE_SRC },
      sourcemap: "inline",
      logLevel: "error",
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    argv: ["--enable-source-maps", join(dir, "cardio.mjs")],
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
