import { describe, expect, it } from "vitest";
import { allHeld, formatReport } from "../scripts/perturb/report.js";
import { runScenario } from "../scripts/perturb/scenario.js";

/*
 * The short version of the perturbation harness (scripts/perturb/): four validators as real
 * `cardio start` processes (network namespaces when run as root), a transaction load, then kill -9
 * and restart, SIGSTOP/SIGCONT, a late joiner and an equivocating validator; every invariant of
 * docs/reliability.md checked on every node through its API. The long version (`npm run test:faults`)
 * adds disconnects of one node and of a minority, a clock 300 ms off and more crashes and pauses.
 */
describe("perturbation harness (short)", () => {
  it("survives kill -9, SIGSTOP, a late joiner and an equivocator with every invariant holding", async () => {
    const report = await runScenario({
      profile: "short",
      ...(process.env.PERTURB_VERBOSE ? { log: (l: string) => console.log(l) } : {}),
    });
    const text = formatReport(report);
    console.log(text);
    const failed = [
      ...report.perturbations.filter((p) => !p.held).map((p) => `${p.name} on ${p.targets}: ${p.detail}`),
      ...report.invariants
        .filter((i) => !i.held)
        .map((i) => `${i.name}: ${i.detail} ${(i.violations ?? []).join("; ")}`),
    ];
    expect(failed, text).toEqual([]);
    expect(allHeld(report)).toBe(true);
    expect(report.perturbations.length).toBeGreaterThanOrEqual(4);
  }, 240_000);
});
