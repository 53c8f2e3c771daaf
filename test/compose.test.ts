import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HarnessReport } from "../scripts/compose-netns.js";

/*
 * docker-compose.yml, run for real without a Docker engine: scripts/compose-netns.ts runs each
 * service's command in its own network namespace on one bridge (see that file), and must see all
 * 4 validators healthy, connected to each other, and sharing one chain at height 20 — within 60 s
 * of `up`, the target. Three ways to find peers: the file as it is (mDNS and the bootstrap
 * list), mDNS only, and the `/dns4/<service>/…` bootstrap list only.
 *
 * Network namespaces need root. As any other user this test says so and checks nothing else;
 * CI runs as root (and .ci/run installs iproute2 when `ip` is missing), so there it always runs.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SCRIPT = join(ROOT, "scripts/compose-netns.ts");
const TARGET_MS = 60_000;
/** The harness gives up after this; the test allows a little more for build and teardown. */
const HARNESS_TIMEOUT_S = 100;
const TEST_TIMEOUT_MS = 150_000;

const isRoot = process.getuid?.() === 0;
let dir: string;

let buildError: string | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cardio-compose-test-"));
  // The harness runs packages/node/dist: build once here (a no-op when CI has just built), and
  // let each variant skip its own build.
  if (isRoot) {
    try {
      execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "pipe", encoding: "utf8" });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      buildError = `npm run build failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`;
    }
  }
}, 120_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function whichIp(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v ip"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Runs the harness as its own process (so its name marks its namespaces as alive) and reads its report. */
async function runHarness(
  variantFlags: string[],
): Promise<{ code: number | null; output: string; report?: HarnessReport }> {
  const reportFile = join(dir, `report-${variantFlags.join("") || "compose"}.json`);
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      SCRIPT,
      ...variantFlags,
      "--no-build",
      "--timeout",
      String(HARNESS_TIMEOUT_S),
      "--report",
      reportFile,
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
  // Should vitest give up first, the harness still tears down on SIGTERM.
  const kill = setTimeout(() => child.kill("SIGTERM"), TEST_TIMEOUT_MS - 10_000);
  const code = await new Promise<number | null>((resolvePromise) => child.on("close", resolvePromise));
  clearTimeout(kill);
  let report: HarnessReport | undefined;
  try {
    report = JSON.parse(await readFile(reportFile, "utf8")) as HarnessReport;
  } catch {
    report = undefined;
  }
  process.stdout.write(
    `${output
      .split("\n")
      .filter((l) => !l.startsWith("  "))
      .join("\n")}\n`,
  );
  return { code, output, report };
}

/** Namespaces, links and /etc/netns entries of run `runId` still on the machine. */
function leftovers(runId: string): string[] {
  const netns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
  const links = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" });
  const etc = existsSync("/etc/netns") ? readdirSync("/etc/netns").join("\n") : "";
  return [netns, links, etc]
    .join("\n")
    .split("\n")
    .filter(
      (l) => l.includes(`cardio-cmp-${runId}-`) || l.includes(`ccbr${runId}`) || l.includes(`ccv${runId}n`),
    );
}

function expectNetwork(result: Awaited<ReturnType<typeof runHarness>>, variant: string): HarnessReport {
  const { code, output, report } = result;
  expect(report, `no report; harness output:\n${output}`).toBeDefined();
  const r = report!;
  expect(r.failures, output).toEqual([]);
  expect(code, output).toBe(0);
  expect(r.variant).toBe(variant);
  expect(r.ok).toBe(true);
  // The one-shot wrote the genesis and left successfully.
  expect(r.services.find((s) => s.service === "genesis")?.exitCode).toBe(0);
  // Every validator healthy, connected to the 3 others, at height ≥ 20 with one block there.
  expect(r.nodes).toHaveLength(4);
  for (const n of r.nodes) {
    expect(n.health, n.service).toBe("healthy");
    expect(n.peers, n.service).toBeGreaterThanOrEqual(3);
    expect(n.height, n.service).toBeGreaterThanOrEqual(20);
    expect(n.commonHash, n.service).toBe(r.common?.hash);
    expect(n.restarts, n.service).toBe(0);
  }
  expect(r.common?.height).toBe(20);
  expect(r.common?.hash).toMatch(/^[0-9a-f]{64}$/);
  expect(r.timings.targetHeightMs, "height 20 on all 4 within 60 s of up").toBeLessThanOrEqual(TARGET_MS);
  // Torn down: nothing of this run is left.
  expect(r.cleanup).toMatchObject({ ok: true, problems: [] });
  expect(leftovers(r.runId)).toEqual([]);
  return r;
}

describe("docker compose network, run in network namespaces", () => {
  const cannotRun = (): boolean => {
    if (isRoot) {
      // As root it must run: a missing `ip` is a broken machine, not a reason to skip.
      expect(whichIp(), "iproute2's `ip` is missing (apt-get install -y iproute2)").toBeDefined();
      expect(buildError).toBeUndefined();
      return false;
    }
    console.warn(
      "compose netns test not run: not root (network namespaces need root; CI runs as root). " +
        "Run `sudo npm run test:compose` to run docker-compose.yml in namespaces.",
    );
    return true;
  };

  it(
    "as written (mDNS + bootstrap list): 4 validators healthy, connected, one chain at height 20 within 60 s",
    async () => {
      if (cannotRun()) return;
      const r = expectNetwork(await runHarness([]), "compose");
      for (const s of r.services.filter((x) => x.service !== "genesis"))
        expect(s.cardioEnv, s.service).toContain("CARDIO_BOOTSTRAP");
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "mDNS only (no bootstrap list): the validators still find each other and share one chain",
    async () => {
      if (cannotRun()) return;
      const r = expectNetwork(await runHarness(["--mdns-only"]), "mdns-only");
      for (const s of r.services) expect(s.cardioEnv, s.service).not.toContain("CARDIO_BOOTSTRAP");
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "bootstrap list only (no mDNS): /dns4/<service>/… addresses connect the validators",
    async () => {
      if (cannotRun()) return;
      const r = expectNetwork(await runHarness(["--bootstrap-only"]), "bootstrap-only");
      for (const s of r.services.filter((x) => x.service !== "genesis")) {
        expect(s.cardioEnv, s.service).toContain("CARDIO_BOOTSTRAP");
        expect(s.cardioEnv, s.service).toContain("CARDIO_NO_MDNS");
      }
    },
    TEST_TIMEOUT_MS,
  );
});
