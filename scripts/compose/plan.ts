import { isAbsolute, join, posix } from "node:path";
import type { ComposeFile, ComposeService, DependencyCondition } from "./composeFile.js";
import type { ImageConfig } from "./dockerfile.js";

/*
 * From a compose service to a host process: the argv a container of the image would run, with
 * image paths mapped onto this checkout, the environment it would see, its working directory and
 * volumes inside a per-service "container root" folder, and the order services may start in.
 */

/** Where the Dockerfile puts the checkout's files inside the image (see its runtime stage). */
export const IMAGE_APP_DIR = "/app";
/** The `cardio` command the Dockerfile links onto the PATH. */
export const IMAGE_CARDIO_BIN = "/usr/local/bin/cardio";

/** One service, ready to run as a host process. */
export interface ServicePlan {
  service: ComposeService;
  /** argv as the container runs it (image paths). */
  containerArgv: string[];
  /** argv for the host (image paths mapped). */
  argv: string[];
  /** Environment as the container sees it, image ENV then the service's (paths mapped). */
  env: Record<string, string>;
  /** Container working directory, and where it is on the host. */
  workingDir: string;
  cwd: string;
  /** Folder standing for the container's `/`: cwd and volume mount points live under it. */
  root: string;
  /** Volume mounts: container path → host folder. */
  mounts: Array<{ target: string; hostPath: string; volume: string }>;
}

export interface PlanContext {
  /** Image config of the final Dockerfile stage (what `build:` produces). */
  image: ImageConfig;
  /** Repository root: what `/app` holds in the image. */
  repoRoot: string;
  /** Folder holding an executable `cardio` (a wrapper for this checkout's build). */
  binDir: string;
  /** Folder per named volume. */
  volumeDir(name: string): string;
  /** Folder standing for the container root of a service. */
  rootDir(service: string): string;
  /** Base PATH of the host. */
  hostPath: string;
}

/** Builds the run plan of each service, in file order. */
export function planServices(file: ComposeFile, ctx: PlanContext): ServicePlan[] {
  const built = new Set(file.services.filter((s) => s.build !== undefined && s.image).map((s) => s.image!));
  return file.services.map((service) => {
    if (service.build === undefined && !built.has(service.image ?? ""))
      throw new Error(
        `service ${service.name}: image ${service.image} is not built by this compose file; only the ` +
          "cardio image can be emulated",
      );
    return planService(service, file, ctx);
  });
}

function planService(service: ComposeService, file: ComposeFile, ctx: PlanContext): ServicePlan {
  const entrypoint = service.entrypoint ?? ctx.image.entrypoint;
  // As Docker: a service that overrides the entrypoint does not get the image's CMD.
  const cmd = service.command ?? (service.entrypoint === undefined ? ctx.image.cmd : []);
  const containerArgv = [...entrypoint, ...cmd];
  if (containerArgv.length === 0) throw new Error(`service ${service.name}: nothing to run`);
  const workingDir = service.workingDir ?? ctx.image.workingDir;
  const root = ctx.rootDir(service.name);
  const mounts = service.volumes.map((v) => {
    if (v.type !== "volume")
      throw new Error(`service ${service.name}: bind mounts are not emulated (${v.source})`);
    if (!file.volumes.includes(v.source))
      throw new Error(`service ${service.name}: volume ${v.source} is not declared under top-level volumes`);
    if (!isAbsolute(v.target))
      throw new Error(`service ${service.name}: volume target ${v.target} is not absolute`);
    return { target: v.target, hostPath: ctx.volumeDir(v.source), volume: v.source };
  });
  const mapPath = (p: string): string =>
    mapContainerPath(p, { root, mounts, repoRoot: ctx.repoRoot, binDir: ctx.binDir });
  const env: Record<string, string> = {
    ...ctx.image.env,
    // The image's PATH has `cardio` through /usr/local/bin; here the wrapper folder comes first.
    PATH: `${ctx.binDir}:${ctx.hostPath}`,
    HOME: root,
  };
  for (const [k, v] of Object.entries(service.environment)) env[k] = v.startsWith("/") ? mapPath(v) : v;
  const argv = containerArgv.map((a, i) => {
    if (i === 0 && a === "node") return process.execPath;
    return a.startsWith("/") ? mapPath(a) : a;
  });
  return {
    service,
    containerArgv,
    argv,
    env,
    workingDir,
    cwd: join(root, workingDir),
    root,
    mounts,
  };
}

/**
 * A container path on the host: inside a volume → the volume's folder; the checkout in the image
 * (`/app/…`) → this checkout; `/usr/local/bin/cardio` → the wrapper; other paths stay as they are
 * (system paths such as /bin/sh exist on both sides). Paths only: text inside a shell script is
 * not rewritten, so compose commands should use paths relative to the working directory.
 */
export function mapContainerPath(
  p: string,
  at: { root: string; mounts: ServicePlan["mounts"]; repoRoot: string; binDir: string },
): string {
  const under = (dir: string): boolean => p === dir || p.startsWith(`${dir.replace(/\/$/, "")}/`);
  const longest = [...at.mounts].sort((a, b) => b.target.length - a.target.length);
  for (const m of longest) if (under(m.target)) return join(m.hostPath, posix.relative(m.target, p));
  if (p === IMAGE_CARDIO_BIN) return join(at.binDir, "cardio");
  if (under(IMAGE_APP_DIR)) return join(at.repoRoot, posix.relative(IMAGE_APP_DIR, p));
  return p;
}

/** Services in an order where each comes after those it depends on; throws on cycles or unknown names. */
export function startOrder(services: ReadonlyArray<Pick<ComposeService, "name" | "dependsOn">>): string[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  for (const s of services)
    for (const dep of Object.keys(s.dependsOn))
      if (!byName.has(dep)) throw new Error(`service ${s.name} depends on unknown service ${dep}`);
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, path: string[]): void => {
    const st = state.get(name);
    if (st === "done") return;
    if (st === "visiting") throw new Error(`dependency cycle: ${[...path, name].join(" → ")}`);
    state.set(name, "visiting");
    for (const dep of Object.keys(byName.get(name)!.dependsOn)) visit(dep, [...path, name]);
    state.set(name, "done");
    order.push(name);
  };
  for (const s of services) visit(s.name, []);
  return order;
}

/** What a dependency must reach before its dependant starts. */
export type DependencyState = "pending" | "met" | "failed";

/** Whether `condition` is met by a service with these facts. */
export function dependencyState(
  condition: DependencyCondition,
  dep: {
    started: boolean;
    healthy: boolean;
    unhealthy: boolean;
    exitCode: number | null | undefined;
    running: boolean;
  },
): DependencyState {
  switch (condition) {
    case "service_started":
      return dep.started ? "met" : "pending";
    case "service_healthy":
      if (dep.healthy) return "met";
      return dep.unhealthy || (dep.started && !dep.running && dep.exitCode !== undefined)
        ? "failed"
        : "pending";
    case "service_completed_successfully":
      if (dep.exitCode === undefined || dep.running) return "pending";
      return dep.exitCode === 0 ? "met" : "failed";
  }
}

/** The service as an mDNS-only network would run it: no bootstrap address, flag or variable. */
export function withoutBootstrap(service: ComposeService): ComposeService {
  const environment = { ...service.environment };
  delete environment.CARDIO_BOOTSTRAP;
  const strip = (argv: string[] | undefined): string[] | undefined => {
    if (argv === undefined) return undefined;
    const out: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === "--bootstrap") {
        i++;
        continue;
      }
      if (a.startsWith("--bootstrap=")) continue;
      out.push(a);
    }
    return out;
  };
  const command = strip(service.command);
  const entrypoint = strip(service.entrypoint);
  return {
    ...service,
    environment,
    ...(command === undefined ? {} : { command }),
    ...(entrypoint === undefined ? {} : { entrypoint }),
  };
}

/** True when the service runs `cardio start` (a validator node), from its container argv. */
export function isNodeService(plan: Pick<ServicePlan, "containerArgv">): boolean {
  const argv = plan.containerArgv;
  const at = argv.findIndex(
    (a) => a === "cardio" || a === IMAGE_CARDIO_BIN || a.endsWith("/dist/bin/cardio.js"),
  );
  return at >= 0 && argv[at + 1] === "start";
}

/** The API port a `cardio start` service listens on inside its container. */
export function apiPort(plan: Pick<ServicePlan, "containerArgv" | "env">): number {
  const argv = plan.containerArgv;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--api" && argv[i + 1] !== undefined) return Number(argv[i + 1]);
    if (argv[i]!.startsWith("--api=")) return Number(argv[i]!.slice("--api=".length));
  }
  if (plan.env.CARDIO_API !== undefined) return Number(plan.env.CARDIO_API);
  return 8645;
}
