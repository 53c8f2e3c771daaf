#!/usr/bin/env node
/**
 * Bundles the `cardio` CLI with esbuild: `packages/node/src/bin/cardio.ts` and everything it imports
 * (`@cardio/core` from its sources, libp2p, fastify, pino…) into a few ESM files, in ~1 s and without
 * type-checking. What `npm start` runs, and what the CLI tests spawn.
 *
 *   node scripts/build-cli.mjs [outdir]          (default packages/node/dist/bundle; prints the entry)
 *   npm run bundle
 *
 * Why: a node process of the tsc build (`dist/bin/cardio.js`) loads several hundred ESM files from
 * node_modules before it starts, ~0.9 s of CPU here; the bundle ~0.4 s. The devnet starts 4 of them at
 * once on 2 cores. Type errors are still the gate of `npm run build` (tsc), which this does not replace.
 *
 * Kept external: `classic-level` and `sodium-native` (native addons, each loading its binary from its own
 * directory), so the bundle must live where `node_modules` resolves: under the repository (or /app
 * in the image). Dynamic imports stay lazy chunks (`splitting`), so `cardio status` does not load
 * libp2p. A `require` is defined in each chunk for the CommonJS packages bundled into ESM that require
 * Node built-ins at run time.
 *
 * Plain JavaScript, not TypeScript, so that `npm start` runs it with `node` directly (tsx would add
 * ~0.8 s of start-up to every `npm start`).
 */
import { rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Where `npm start` puts the bundle. */
export const DEFAULT_OUTDIR = join(ROOT, "packages", "node", "dist", "bundle");
/** Packages that must not be bundled: native addons. */
export const EXTERNAL = ["classic-level", "sodium-native"];

/**
 * Builds the CLI bundle into `outdir` (emptied first) and returns the path of its entry file.
 *
 * @param {{ outdir?: string, sourcemap?: boolean, entry?: string, name?: string }} [options]
 *   `entry`/`name`: another TypeScript entry point bundled the same way (e.g. a test helper), and
 *   the base name of its output file; `sourcemap`: inline source maps (run with --enable-source-maps).
 * @returns {Promise<string>} the absolute path of the entry file (`<outdir>/<name>.mjs`)
 */
export async function buildCli(options = {}) {
  const outdir = resolve(options.outdir ?? DEFAULT_OUTDIR);
  const name = options.name ?? "cardio";
  const entry = options.entry ?? join(ROOT, "packages", "node", "src", "bin", "cardio.ts");
  const esbuild = await import("esbuild");
  await rm(outdir, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: { [name]: entry },
    outdir,
    outExtension: { ".js": ".mjs" },
    splitting: true,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: EXTERNAL,
    alias: { "@cardio/core": join(ROOT, "packages", "core", "src", "index.ts") },
    banner: {
      js: "import { createRequire as __cardioCreateRequire } from 'node:module'; const require = __cardioCreateRequire(import.meta.url);",
    },
    sourcemap: options.sourcemap === true ? "inline" : false,
    legalComments: "none",
    logLevel: "error",
  });
  return join(outdir, `${name}.mjs`);
}

// Run as a script: build into the given directory (or the default) and print the entry's path.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const entry = await buildCli(process.argv[2] === undefined ? {} : { outdir: process.argv[2] });
  process.stderr.write(`bundled the cardio CLI: ${entry}\n`);
}
