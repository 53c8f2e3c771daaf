import { mkdir, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCli } from "../build-cli.mjs";

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root. */
export const ROOT = resolve(here, "../..");

/** A bundled script: run it as `node <argv>`. */
export interface Bundle {
  argv: string[];
  cleanup(): Promise<void>;
}

/**
 * Bundles the double signer (scripts/perturb/doubleSigner.ts) with esbuild, the way `npm start` and
 * the CLI tests bundle `cardio` (scripts/build-cli.mjs): from the TypeScript sources, `@cardio/core`
 * from its sources too, classic-level external and resolved from the repository's node_modules (the
 * bundle lives under node_modules/.cache).
 */
export async function bundleDoubleSigner(): Promise<Bundle> {
  const dir = join(ROOT, "node_modules", ".cache", "cardio-perturb", `${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  let entry: string;
  try {
    entry = await buildCli({
      outdir: dir,
      entry: join(here, "doubleSigner.ts"),
      name: "doubleSigner",
      sourcemap: true,
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    argv: ["--enable-source-maps", entry],
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
