import { Harness, type HarnessConfig } from "./harness.js";
import type { RunReport } from "./report.js";
import type { TopologyKind } from "./topology.js";

/*
 * The two scenarios. `short` runs inside `npm test` (a subset, about a minute on a 2-core machine);
 * `long` (`npm run test:faults`) runs every perturbation, some twice, for several minutes.
 */

export type ProfileName = "short" | "long";

export interface RunOptions {
  profile: ProfileName;
  topology?: TopologyKind | "auto";
  keep?: boolean;
  log?: (line: string) => void;
  /** Long profile: how many times the kill / pause / disconnect cycle repeats (default 2). */
  cycles?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PROFILES: Record<ProfileName, Omit<HarnessConfig, "profile" | "topology" | "keep" | "log">> = {
  short: {
    honest: 4,
    late: [3],
    cheaterStake: 40n,
    loadAccounts: 3,
    slotMs: 400,
    loadIntervalMs: 700,
    convergeSlots: 25,
  },
  long: {
    honest: 6,
    late: [5],
    cheaterStake: 50n,
    loadAccounts: 4,
    slotMs: 400,
    loadIntervalMs: 600,
    convergeSlots: 25,
  },
};

async function shortScenario(h: Harness): Promise<void> {
  for (const i of [0, 1, 2]) await h.startNode(i);
  await h.waitHeight(2, 30_000);
  h.load.start();
  await sleep(4000);
  await h.killRestart(1, 4000);
  await h.pauseResume(2, 10_000);
  await h.lateJoin(3);
  await h.equivocate();
  await sleep(3000);
}

async function longScenario(h: Harness, cycles: number): Promise<void> {
  for (const i of [0, 1, 2, 3, 4]) await h.startNode(i);
  await h.waitHeight(2, 30_000);
  h.load.start();
  await sleep(10_000);
  for (let c = 0; c < cycles; c++) {
    await h.killRestart(c % 2 === 0 ? 1 : 0, 5000);
    await sleep(5000);
    await h.pauseResume(c % 2 === 0 ? 2 : 3, 10_000);
    await sleep(5000);
    await h.disconnect([c % 2 === 0 ? 3 : 2], 20);
    await sleep(5000);
    await h.disconnect(c % 2 === 0 ? [0, 4] : [1, 2], 20);
    await sleep(5000);
    if (c === 0) {
      await h.lateJoin(5);
      await sleep(5000);
    }
  }
  await h.clockOffset(4, 300);
  await sleep(10_000);
  // Clocks are promised to agree within 500 ms (docs/reliability.md §1): +300 and −300 at once would
  // put two nodes 600 ms apart, outside what the network promises. So one clock is off at a time.
  await h.clockOffset(4, 0);
  await sleep(5000);
  await h.clockOffset(1, -300);
  await sleep(10_000);
  await h.equivocate();
  await sleep(5000);
  // One more crash with a clock still off, then a quiet stretch under load.
  await h.killRestart(0, 5000);
  await sleep(20_000);
}

const live = new Set<Harness>();

/** Stops and removes every harness still running (for Ctrl-C in the CLI). */
export async function destroyAll(): Promise<void> {
  await Promise.all([...live].map((h) => h.destroy()));
  live.clear();
}

/** Runs one scenario end to end; always cleans up. */
export async function runScenario(opts: RunOptions): Promise<RunReport> {
  const h = await Harness.create({
    ...PROFILES[opts.profile],
    profile: opts.profile,
    topology: opts.topology ?? "auto",
    ...(opts.keep === undefined ? {} : { keep: opts.keep }),
    ...(opts.log === undefined ? {} : { log: opts.log }),
  });
  live.add(h);
  try {
    try {
      if (opts.profile === "short") await shortScenario(h);
      else await longScenario(h, opts.cycles ?? 2);
    } catch (err) {
      h.notes.push(`scenario aborted: ${(err as Error).message}`);
      h.perturbations.push({
        name: "scenario",
        targets: "-",
        at: h.elapsed(),
        lastedS: 0,
        held: false,
        detail: `aborted: ${(err as Error).message}`,
      });
    }
    return await h.finish();
  } finally {
    live.delete(h);
    const problems = await h.destroy();
    if (problems.length > 0) opts.log?.(`cleanup problems: ${problems.join("; ")}`);
  }
}
