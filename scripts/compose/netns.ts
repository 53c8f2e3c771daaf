import { mkdir, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  killNetnsProcesses,
  type NamingScheme,
  ownedNames,
  removeStaleRuns as removeStaleRunsOf,
  runAlive as runAliveIn,
  sh,
} from "../lib/netnsNames.js";

export { sh };

/*
 * Network namespaces on one Linux bridge: what a compose network gives its containers (one IP
 * each, one L2 segment, multicast for mDNS, service names in /etc/hosts), made with iproute2.
 * Needs root. Every name carries the run id (the harness's pid in base 36) so two runs never
 * collide, and leftovers of a run whose process is gone can be found and removed.
 *
 *   bridge   ccbr<run>          veth (host side)   ccv<run>n<i>
 *   netns    cardio-cmp-<run>-<i>                  hosts file  /etc/netns/<netns>/hosts
 *
 * `ip netns exec` bind-mounts /etc/netns/<netns>/hosts over /etc/hosts for the command it runs,
 * so `validator-0` resolves inside the namespaces as Docker's embedded DNS resolves it.
 */

export const NETNS_PREFIX = "cardio-cmp-";
const BRIDGE_PREFIX = "ccbr";
const VETH_PREFIX = "ccv";
/** The subnet of every run: namespaces only, never on the host, so runs do not clash. */
export const SUBNET = "10.200.0";
const ETC_NETNS = "/etc/netns";
const SCHEME: NamingScheme = {
  netnsPrefix: NETNS_PREFIX,
  linkPattern: new RegExp(`^(?:${BRIDGE_PREFIX}([0-9a-z]+)|${VETH_PREFIX}([0-9a-z]+)n[0-9]+)$`),
  cmdlinePattern: /compose-netns/,
};

/** One namespace of a run. */
export interface Host {
  /** Index within the run (the service's position; the probe is 1). */
  index: number;
  netns: string;
  veth: string;
  ip: string;
}

/** The names of one run. */
export class NetnsRun {
  readonly bridge: string;
  readonly hosts: Host[] = [];
  private bridgeMade = false;
  private readonly etcDirs: string[] = [];

  constructor(readonly runId: string) {
    this.bridge = `${BRIDGE_PREFIX}${runId}`;
  }

  /** Creates the bridge. */
  async createBridge(): Promise<void> {
    await sh("ip", ["link", "add", this.bridge, "type", "bridge"]);
    this.bridgeMade = true;
    await sh("ip", ["link", "set", this.bridge, "up"]);
  }

  /** Creates namespace `index` with IP 10.200.0.<ipLast>, attached to the bridge. */
  async addHost(index: number, ipLast: number): Promise<Host> {
    const host: Host = {
      index,
      netns: `${NETNS_PREFIX}${this.runId}-${index}`,
      veth: `${VETH_PREFIX}${this.runId}n${index}`,
      ip: `${SUBNET}.${ipLast}`,
    };
    this.hosts.push(host);
    const ns = host.netns;
    await sh("ip", ["netns", "add", ns]);
    await sh("ip", ["link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", ns]);
    await sh("ip", ["link", "set", host.veth, "master", this.bridge]);
    await sh("ip", ["link", "set", host.veth, "up"]);
    await sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
    await sh("ip", ["-n", ns, "addr", "add", `${host.ip}/24`, "dev", "eth0"]);
    await sh("ip", ["-n", ns, "link", "set", "eth0", "up"]);
    // Without a multicast route mDNS fails silently (no default route in the namespace).
    await sh("ip", ["-n", ns, "route", "add", "224.0.0.0/4", "dev", "eth0"]);
    return host;
  }

  /** Writes /etc/netns/<netns>/hosts: localhost plus every name → IP. */
  async writeHostsFile(host: Host, names: Record<string, string>): Promise<void> {
    const dir = join(ETC_NETNS, host.netns);
    await mkdir(dir, { recursive: true });
    this.etcDirs.push(dir);
    const lines = [
      "127.0.0.1\tlocalhost",
      "::1\tlocalhost ip6-localhost ip6-loopback",
      ...Object.entries(names).map(([name, ip]) => `${ip}\t${name}`),
    ];
    await writeFile(join(dir, "hosts"), `${lines.join("\n")}\n`);
  }

  /** The argv that runs `argv` inside the namespace. */
  exec(host: Host, argv: string[]): string[] {
    return ["ip", "netns", "exec", host.netns, ...argv];
  }

  /**
   * Removes everything this run made: processes left in its namespaces (SIGKILL), namespaces
   * (their veth ends go with them), the bridge, /etc/netns files. Never throws; returns problems.
   */
  async destroy(): Promise<string[]> {
    const problems: string[] = [];
    for (const host of this.hosts) {
      await killNetnsProcesses(host.netns).catch((e: unknown) => problems.push(String(e)));
      await sh("ip", ["netns", "del", host.netns]).catch((e: unknown) => {
        if (!/No such file|Cannot remove/.test(String(e))) problems.push(String(e));
      });
      await sh("ip", ["link", "del", host.veth]).catch(() => {});
    }
    if (this.bridgeMade)
      await sh("ip", ["link", "del", this.bridge]).catch((e: unknown) => problems.push(String(e)));
    for (const dir of this.etcDirs) await rm(dir, { recursive: true, force: true }).catch(() => {});
    await rmdir(ETC_NETNS).catch(() => {}); // only when empty: others may use it
    const left = await leftovers(this.runId);
    if (left.length > 0) problems.push(`left behind: ${left.join(", ")}`);
    return problems;
  }
}

/** Names (netns, links, /etc/netns dirs) that belong to run `runId` and still exist. */
export async function leftovers(runId: string): Promise<string[]> {
  return (await ownedNames(SCHEME)).filter((n) => n.runId === runId).map((n) => n.name);
}

/** Whether the compose-netns run `runId` (a pid in base 36) is still alive. */
export function runAlive(runId: string): Promise<boolean> {
  return runAliveIn(runId, SCHEME);
}

/** Removes namespaces, links and /etc/netns entries of earlier runs whose process is gone. */
export function removeStaleRuns(): Promise<string[]> {
  return removeStaleRunsOf(SCHEME);
}
