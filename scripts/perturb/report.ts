/*
 * The harness's results: what it did (perturbations) and what held (invariants), as plain data and
 * as Markdown tables (printed by the CLI and the test, pasted into docs/reliability.md).
 */

export interface PerturbationResult {
  name: string;
  targets: string;
  /** Seconds since the first node started. */
  at: number;
  /** How long the fault lasted, in seconds. */
  lastedS: number;
  /** From recovery (restart answering, SIGCONT, heal, join) to one head on every running node. */
  convergedMs?: number;
  convergedSlots?: number;
  held: boolean;
  /** The harness could not apply it (e.g. the CLI lacks what it needs); not counted as a failure. */
  notRun?: boolean;
  detail: string;
}

export interface InvariantResult {
  name: string;
  held: boolean;
  detail: string;
  /** Up to a few lines explaining a violation. */
  violations?: string[];
}

export interface RunReport {
  profile: string;
  topology: string;
  startedAt: string;
  durationS: number;
  slotMs: number;
  nodes: string;
  perturbations: PerturbationResult[];
  invariants: InvariantResult[];
  stats: Record<string, string | number>;
  notes: string[];
  /** Where logs were kept (when kept). */
  logDir?: string;
}

export function allHeld(r: RunReport): boolean {
  return r.perturbations.every((p) => p.held || p.notRun === true) && r.invariants.every((i) => i.held);
}

function cell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function table(head: string[], rows: string[][]): string {
  const lines = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`];
  for (const r of rows) lines.push(`| ${r.map(cell).join(" | ")} |`);
  return lines.join("\n");
}

export function formatReport(r: RunReport): string {
  const out: string[] = [];
  out.push(
    `### Run: ${r.profile} profile, ${r.topology}, ${r.startedAt} — ${allHeld(r) ? "ALL HELD" : "VIOLATIONS"}`,
    "",
    `${r.nodes}; ${r.slotMs} ms slots; ${r.durationS.toFixed(0)} s.`,
    "",
    table(
      ["#", "perturbation", "target", "at (s)", "lasted (s)", "one head again after", "result"],
      r.perturbations.map((p, i) => [
        String(i + 1),
        p.name,
        p.targets,
        p.at.toFixed(1),
        p.lastedS.toFixed(1),
        p.convergedMs === undefined
          ? "—"
          : `${(p.convergedMs / 1000).toFixed(1)} s (${p.convergedSlots} slots)`,
        `${p.notRun ? "NOT RUN" : p.held ? "held" : "VIOLATED"}: ${p.detail}`,
      ]),
    ),
    "",
    table(
      ["invariant", "result", "details"],
      r.invariants.map((i) => [
        i.name,
        i.held ? "held" : "VIOLATED",
        i.detail +
          (i.violations && i.violations.length > 0 ? ` — ${i.violations.slice(0, 5).join("; ")}` : ""),
      ]),
    ),
  );
  const stats = Object.entries(r.stats);
  if (stats.length > 0) out.push("", stats.map(([k, v]) => `${k}: ${v}`).join(" · "));
  if (r.notes.length > 0) out.push("", ...r.notes.map((n) => `- ${n}`));
  if (r.logDir !== undefined) out.push("", `logs: ${r.logDir}`);
  return out.join("\n");
}
