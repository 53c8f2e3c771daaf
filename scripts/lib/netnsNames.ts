import { execFile } from "node:child_process";
import { readdir, readFile, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";

/*
 * Bookkeeping shared by the scripts that build network namespaces (compose-netns, the perturbation
 * harness): every name they create carries the run id (the creating pid in base 36), so a later run
 * can find what a killed run left behind and remove it without touching anything else.
 */

const ETC_NETNS = "/etc/netns";

/** Runs a command; rejects with its stderr on a non-zero exit. */
export function sh(cmd: string, args: string[], timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** How one script names what it creates. */
export interface NamingScheme {
  /** Namespaces are `<netnsPrefix><runId>-<n>`; `/etc/netns/<same>` holds their hosts files. */
  netnsPrefix: string;
  /** Matches the script's links (bridges, veths); its first matching group is the run id. */
  linkPattern: RegExp;
  /** Matches the command line of a live run of the script (a pid may be reused by another program). */
  cmdlinePattern: RegExp;
}

/** A namespace, link or `/etc/netns` entry that belongs to a run. */
export interface OwnedName {
  kind: "netns" | "link" | "etc";
  /** The name (for `etc`, the full path). */
  name: string;
  runId: string;
}

/** Every existing name that follows `scheme`, whichever run made it. */
export async function ownedNames(scheme: NamingScheme): Promise<OwnedName[]> {
  const netnsPattern = new RegExp(`^${scheme.netnsPrefix}([0-9a-z]+)-[0-9]+$`);
  const out: OwnedName[] = [];
  const netns = await sh("ip", ["netns", "list"]).catch(() => "");
  for (const line of netns.split("\n")) {
    const name = line.split(/\s+/)[0] ?? "";
    const m = netnsPattern.exec(name);
    if (m !== null) out.push({ kind: "netns", name, runId: m[1]! });
  }
  const links = await sh("ip", ["-o", "link", "show"]).catch(() => "");
  for (const line of links.split("\n")) {
    const name = /^[0-9]+:\s+([^:@\s]+)/.exec(line)?.[1] ?? "";
    const runId = scheme.linkPattern
      .exec(name)
      ?.slice(1)
      .find((g) => g !== undefined);
    if (runId !== undefined) out.push({ kind: "link", name, runId });
  }
  for (const name of await readdir(ETC_NETNS).catch(() => [] as string[])) {
    const m = netnsPattern.exec(name);
    if (m !== null) out.push({ kind: "etc", name: join(ETC_NETNS, name), runId: m[1]! });
  }
  return out;
}

/** Whether run `runId` (a pid in base 36) is still alive and still a run of the script. */
export async function runAlive(runId: string, scheme: NamingScheme): Promise<boolean> {
  const pid = Number.parseInt(runId, 36);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return scheme.cmdlinePattern.test(cmdline);
}

/** SIGKILLs every process still inside namespace `netns`. */
export async function killNetnsProcesses(netns: string): Promise<void> {
  const out = await sh("ip", ["netns", "pids", netns]).catch(() => "");
  for (const pid of out.split(/\s+/).filter((p) => /^[0-9]+$/.test(p))) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Removes what runs whose process is gone left behind; returns the names removed. */
export async function removeStaleRuns(scheme: NamingScheme): Promise<string[]> {
  const names = await ownedNames(scheme);
  const dead = new Map<string, boolean>();
  for (const n of names) if (!dead.has(n.runId)) dead.set(n.runId, !(await runAlive(n.runId, scheme)));
  const removed: string[] = [];
  for (const n of names.filter((x) => x.kind === "netns" && dead.get(x.runId))) {
    await killNetnsProcesses(n.name);
    await sh("ip", ["netns", "del", n.name]).catch(() => {});
    removed.push(n.name);
  }
  // Deleting a netns took its veth pair with it; what is left is bridges and strays.
  for (const n of names.filter((x) => x.kind === "link" && dead.get(x.runId))) {
    await sh("ip", ["link", "del", n.name]).catch(() => {});
    removed.push(n.name);
  }
  for (const n of names.filter((x) => x.kind === "etc" && dead.get(x.runId))) {
    await rm(n.name, { recursive: true, force: true });
    removed.push(n.name);
  }
  if (removed.length > 0) await rmdir(ETC_NETNS).catch(() => {});
  return removed;
}
