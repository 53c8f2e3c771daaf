/**
 * The perturbation harness, from the command line:
 *
 *   npm run test:faults                       long profile, once (several minutes)
 *   tsx scripts/perturb.ts --profile short    the subset that `npm test` runs
 *   tsx scripts/perturb.ts --runs 5           five consecutive runs; stops at the first violation
 *   tsx scripts/perturb.ts --loopback         no namespaces even as root (SIGSTOP stands in for disconnects)
 *   tsx scripts/perturb.ts --keep             keep the temp dir (data dirs and every process's log)
 *   tsx scripts/perturb.ts --out FILE         also write the results tables (Markdown) to FILE
 *   tsx scripts/perturb.ts --cycles N         long profile: repeat the kill/pause/disconnect cycle N times
 *
 * Real `cardio start` processes (built from the sources), one per validator, each in its own
 * network namespace when run as root; see docs/reliability.md. Exits 1 if any invariant was violated.
 */
import { writeFile } from "node:fs/promises";
import { allHeld, formatReport } from "./perturb/report.js";
import { destroyAll, type ProfileName, runScenario } from "./perturb/scenario.js";

function parseArgs(argv: string[]) {
  const out = {
    profile: "long" as ProfileName,
    runs: 1,
    loopback: false,
    keep: false,
    out: undefined as string | undefined,
    cycles: 2,
    quiet: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--profile") {
      const p = next();
      if (p !== "short" && p !== "long") throw new Error(`--profile is short or long, got ${p}`);
      out.profile = p;
    } else if (a === "--runs") out.runs = Number.parseInt(next(), 10);
    else if (a === "--cycles") out.cycles = Number.parseInt(next(), 10);
    else if (a === "--loopback") out.loopback = true;
    else if (a === "--keep") out.keep = true;
    else if (a === "--quiet") out.quiet = true;
    else if (a === "--out") out.out = next();
    else if (a === "--help" || a === "-h") {
      console.log(
        "usage: tsx scripts/perturb.ts [--profile short|long] [--runs N] [--cycles N] [--loopback] [--keep] [--out FILE] [--quiet]",
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
// Ctrl-C: stop every process and remove the namespaces before leaving.
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.log(`\n${sig}: cleaning up`);
    void destroyAll().finally(() => process.exit(130));
  });
}
const tables: string[] = [];
let failed = 0;
for (let run = 1; run <= args.runs; run++) {
  console.log(`\n=== run ${run} of ${args.runs} (${args.profile}) ===`);
  const report = await runScenario({
    profile: args.profile,
    topology: args.loopback ? "loopback" : "auto",
    keep: args.keep,
    cycles: args.cycles,
    ...(args.quiet ? {} : { log: (l: string) => console.log(l) }),
  });
  const text = formatReport(report);
  tables.push(text);
  console.log(`\n${text}\n`);
  if (args.out !== undefined) await writeFile(args.out, `${tables.join("\n\n")}\n`);
  if (!allHeld(report)) {
    failed++;
    console.log(`run ${run}: VIOLATIONS`);
    break;
  }
}
console.log(
  failed === 0 ? `${args.runs} run(s): every perturbation survived, every invariant held` : "FAILED",
);
process.exit(failed === 0 ? 0 : 1);
