import { mkdir, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** Repository root. */
export const ROOT = resolve(here, "../..");

/** A bundled script: run it as `node <argv>`. */
export interface Bundle {
  argv: string[];
  cleanup(): Promise<void>;
}

/**
 * Bundles the double signer (scripts/perturb/doubleSigner.ts) with esbuild, as the CLI tests bundle
 * `cardio`: from the TypeScript sources, `@cardio/core` from its sources too, packages external and
 * resolved from the repository's node_modules (the bundle lives under node_modules/.cache).
 */
export async function bundleDoubleSigner(): Promise<Bundle> {
  const esbuild = await import("esbuild");
  const dir = join(ROOT, "node_modules", ".cache", "cardio-perturb", `${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  try {
    await esbuild.build({
      entryPoints: { doubleSigner: join(here, "doubleSigner.ts") },
      outdir: dir,
      outExtension: { ".js": ".mjs" },
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      alias: { "@cardio/core": join(ROOT, "packages/core/src/index.ts") },
      sourcemap: "inline",
      logLevel: "error",
    });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    argv: ["--enable-source-maps", join(dir, "doubleSigner.mjs")],
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
