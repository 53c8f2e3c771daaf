import { createServer } from "node:net";
import { killNetnsProcesses, type NamingScheme, ownedNames, removeStaleRuns, sh } from "../lib/netnsNames.js";

/*
 * Where the harness's processes live and how the network between them is cut.
 *
 * `netns` (root and iproute2): every process gets its own network namespace with two interfaces:
 *
 *   eth0   10.201.<k>.<10+i>/24  p2p bridge cpb<run> (host end cpv<run>-<i>): libp2p only, no host address
 *   mgmt0  10.202.<k>.<10+i>/24  mgmt bridge cpm<run> (host end cpw<run>-<i>): HTTP API, host 10.202.<k>.1
 *
 * The namespaces have no default route (only their two connected subnets), so the only path between
 * two namespaces' libp2p is the p2p bridge, whatever the host's forwarding setting. A partition moves
 * the host ends of some namespaces' p2p veths onto a second bridge (cpx<run>): packets between the
 * two sides are silently dropped, as on a real network split, while the group keeps talking inside
 * itself and the harness still reaches every API over the mgmt bridge. Healing moves them back.
 *
 * `loopback` (no root): everything on 127.0.0.1 with its own ports. There is no way to cut one
 * process's TCP on loopback without privileges, so a "disconnect" becomes SIGSTOP for the same time
 * (the process is frozen: it neither sends nor answers). That is NOT a partition — a frozen node does
 * not forge a minority chain — and the report says so.
 *
 * Names carry the run id (the harness pid, base 36) so parallel runs never collide, and leftovers
 * of dead runs are removed at setup.
 */

/** A free TCP port on loopback (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Where one process lives. */
export interface Host {
  index: number;
  /** Address libp2p listens on. */
  p2pIp: string;
  p2pPort: number;
  /** Address and port of the HTTP API, reachable from the harness. */
  apiHost: string;
  apiPort: number;
  /** The argv prefix that runs a command in this host (empty on loopback). */
  wrap: string[];
}

export type TopologyKind = "netns" | "loopback";

/** The processes' network. */
export interface Topology {
  readonly kind: TopologyKind;
  /** Makes host `index` (idempotent). */
  host(index: number): Promise<Host>;
  /**
   * Cuts `group` off from everyone else (they still reach each other). Only `netns` can; on
   * loopback it throws (the caller falls back to SIGSTOP).
   */
  partition(group: number[]): Promise<void>;
  /** Undoes `partition`. */
  heal(): Promise<void>;
  /** Removes everything it made; returns problems (never throws). */
  destroy(): Promise<string[]>;
}

const NETNS_PREFIX = "cardio-pt-";
const LINK_PREFIXES = ["cpb", "cpm", "cpx", "cpv", "cpw"];
const SCHEME: NamingScheme = {
  netnsPrefix: NETNS_PREFIX,
  linkPattern: new RegExp(`^(?:${LINK_PREFIXES.join("|")})([0-9a-z]+)(?:-[0-9]+)?$`),
  // The harness runs from its CLI or inside vitest.
  cmdlinePattern: /perturb|vitest/,
};

/** Whether this process may create namespaces (root and `ip` present, `ip netns` works). */
export async function canUseNetns(): Promise<boolean> {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  try {
    await sh("ip", ["netns", "list"]);
    return true;
  } catch {
    return false;
  }
}

/** Creates the topology: `netns` when possible (or asked), else `loopback`. */
export async function createTopology(want: TopologyKind | "auto" = "auto"): Promise<Topology> {
  if (want === "loopback") return new LoopbackTopology();
  const ok = await canUseNetns();
  if (!ok) {
    if (want === "netns") throw new Error("network namespaces need root and iproute2 (`ip netns`)");
    return new LoopbackTopology();
  }
  await removeStaleRuns(SCHEME);
  const t = new NetnsTopology(process.pid.toString(36), await pickSubnet());
  await t.setup();
  return t;
}

class LoopbackTopology implements Topology {
  readonly kind = "loopback" as const;
  private readonly hosts = new Map<number, Host>();

  async host(index: number): Promise<Host> {
    let h = this.hosts.get(index);
    if (h === undefined) {
      h = {
        index,
        p2pIp: "127.0.0.1",
        p2pPort: await freePort(),
        apiHost: "127.0.0.1",
        apiPort: await freePort(),
        wrap: [],
      };
      this.hosts.set(index, h);
    }
    return h;
  }

  async partition(): Promise<void> {
    throw new Error("loopback topology cannot partition");
  }

  async heal(): Promise<void> {}

  async destroy(): Promise<string[]> {
    return [];
  }
}

/** The third octet `k` of 10.201.k.0/24 and 10.202.k.0/24 not used by another run on this host. */
async function pickSubnet(): Promise<number> {
  const addrs = await sh("ip", ["-4", "-o", "addr", "show"]).catch(() => "");
  for (let k = 0; k < 250; k++) if (!addrs.includes(`10.202.${k}.`)) return k;
  throw new Error("no free 10.202.k.0/24 subnet");
}

class NetnsTopology implements Topology {
  readonly kind = "netns" as const;
  private readonly hosts = new Map<number, Host & { netns: string; veth: string; mveth: string }>();
  private readonly p2pBridge: string;
  private readonly mgmtBridge: string;
  private readonly cutBridge: string;
  private cutMade = false;
  private cut: number[] = [];
  private made: string[] = [];

  constructor(
    readonly runId: string,
    readonly k: number,
  ) {
    this.p2pBridge = `cpb${runId}`;
    this.mgmtBridge = `cpm${runId}`;
    this.cutBridge = `cpx${runId}`;
  }

  async setup(): Promise<void> {
    for (const br of [this.p2pBridge, this.mgmtBridge]) {
      await sh("ip", ["link", "add", br, "type", "bridge"]);
      this.made.push(br);
      await sh("ip", ["link", "set", br, "up"]);
    }
    await sh("ip", ["addr", "add", `10.202.${this.k}.1/24`, "dev", this.mgmtBridge]);
  }

  async host(index: number): Promise<Host> {
    const existing = this.hosts.get(index);
    if (existing !== undefined) return existing;
    const netns = `${NETNS_PREFIX}${this.runId}-${index}`;
    const veth = `cpv${this.runId}-${index}`;
    const mveth = `cpw${this.runId}-${index}`;
    const last = 10 + index;
    await sh("ip", ["netns", "add", netns]);
    const h = {
      index,
      netns,
      veth,
      mveth,
      p2pIp: `10.201.${this.k}.${last}`,
      p2pPort: 9000,
      apiHost: `10.202.${this.k}.${last}`,
      apiPort: 8645,
      wrap: ["ip", "netns", "exec", netns],
    };
    this.hosts.set(index, h);
    await sh("ip", ["-n", netns, "link", "set", "lo", "up"]);
    for (const [hostEnd, nsEnd, bridge, ip] of [
      [veth, "eth0", this.p2pBridge, h.p2pIp],
      [mveth, "mgmt0", this.mgmtBridge, h.apiHost],
    ] as const) {
      await sh("ip", ["link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd, "netns", netns]);
      await sh("ip", ["link", "set", hostEnd, "master", bridge]);
      await sh("ip", ["link", "set", hostEnd, "up"]);
      await sh("ip", ["-n", netns, "addr", "add", `${ip}/24`, "dev", nsEnd]);
      await sh("ip", ["-n", netns, "link", "set", nsEnd, "up"]);
    }
    return h;
  }

  async partition(group: number[]): Promise<void> {
    if (!this.cutMade) {
      await sh("ip", ["link", "add", this.cutBridge, "type", "bridge"]);
      this.made.push(this.cutBridge);
      await sh("ip", ["link", "set", this.cutBridge, "up"]);
      this.cutMade = true;
    }
    for (const i of group) {
      const h = this.hosts.get(i);
      if (h === undefined) throw new Error(`no host ${i}`);
      await sh("ip", ["link", "set", h.veth, "master", this.cutBridge]);
      this.cut.push(i);
    }
  }

  async heal(): Promise<void> {
    for (const i of this.cut.splice(0)) {
      const h = this.hosts.get(i)!;
      await sh("ip", ["link", "set", h.veth, "master", this.p2pBridge]);
    }
  }

  async destroy(): Promise<string[]> {
    const problems: string[] = [];
    for (const h of this.hosts.values()) {
      await killNetnsProcesses(h.netns);
      await sh("ip", ["netns", "del", h.netns]).catch((e: unknown) => problems.push(String(e)));
      // The veth pairs go with the namespace; delete the host ends in case they did not.
      await sh("ip", ["link", "del", h.veth]).catch(() => {});
      await sh("ip", ["link", "del", h.mveth]).catch(() => {});
    }
    for (const br of this.made)
      await sh("ip", ["link", "del", br]).catch((e: unknown) => problems.push(String(e)));
    const left = (await ownedNames(SCHEME)).filter((n) => n.runId === this.runId);
    if (left.length > 0) problems.push(`left behind: ${left.map((n) => n.name).join(", ")}`);
    return problems;
  }
}
