import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { addressFromPublicKey, devnetKeyPair } from "@cardio/core";
import type { Command } from "commander";
import { beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../packages/node/src/cli/program.js";
import { type CardioCommand, prepareCardio } from "../packages/node/test/cli/harness/cardioBinary.js";
import {
  type ComposeFile,
  type ComposeService,
  loadComposeFile,
  parseComposeDocument,
  parseComposeYaml,
  shellWords,
} from "../scripts/compose/composeFile.js";
import { type Dockerfile, loadDockerfile, parseDockerfile } from "../scripts/compose/dockerfile.js";
import {
  apiPort,
  dependencyState,
  IMAGE_APP_DIR,
  isNodeService,
  mapContainerPath,
  planServices,
  type ServicePlan,
  startOrder,
  withoutBootstrap,
} from "../scripts/compose/plan.js";

/*
 * Checks of docker-compose.yml and the Dockerfile that need no Docker engine: everything they name
 * exists, every variable and flag is one the `cardio` CLI reads (asked of its commander program,
 * not copied here), the bootstrap ids follow from the genesis seed, and the genesis one-shot is
 * idempotent. The network itself is tested by compose.test.ts.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const COMPOSE = join(ROOT, "docker-compose.yml");

let compose: ComposeFile;
let dockerfile: Dockerfile;
let plans: ServicePlan[];

const byName = (name: string): ComposeService => {
  const s = compose.services.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no service ${name}`);
  return s;
};

beforeAll(async () => {
  compose = await loadComposeFile(COMPOSE);
  dockerfile = await loadDockerfile(join(ROOT, "Dockerfile"));
  plans = planServices(compose, {
    image: dockerfile.image,
    repoRoot: ROOT,
    binDir: "/host/bin",
    volumeDir: (name) => `/host/volumes/${name}`,
    rootDir: (service) => `/host/roots/${service}`,
    hostPath: "/usr/bin:/bin",
  });
});

/** Every command of the CLI, with its full name (`keys new`). */
function commands(program: Command): Map<string, Command> {
  const out = new Map<string, Command>();
  const walk = (cmd: Command, prefix: string[]): void => {
    for (const sub of cmd.commands) {
      const path = [...prefix, sub.name()];
      out.set(path.join(" "), sub);
      walk(sub, path);
    }
  };
  walk(program, []);
  return out;
}

/** The `cardio …` invocations of a container argv: direct, or inside an `sh -c` script. */
function cardioInvocations(argv: string[]): string[][] {
  const isCardio = (w: string) => w === "cardio" || w.endsWith("/dist/bin/cardio.js");
  const found: string[][] = [];
  const scan = (words: string[]): void => {
    for (let i = 0; i < words.length; i++) {
      if (!isCardio(words[i]!)) continue;
      const args: string[] = [];
      for (
        let j = i + 1;
        j < words.length && ![";", "&&", "||", "|", "fi", "then", "else"].includes(words[j]!);
        j++
      )
        args.push(words[j]!);
      found.push(args);
    }
  };
  if ((argv[0] === "/bin/sh" || argv[0] === "sh") && argv[1] === "-c") {
    scan(shellWords(argv[2]!.replace(/;/g, " ; ")));
  } else {
    scan(argv);
  }
  return found;
}

/** Parses `args` with the real CLI and this environment, without running anything. */
async function parseWithCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ command: string; opts: Record<string, unknown> }> {
  const program = buildProgram();
  program.configureOutput({ writeErr: () => {}, writeOut: () => {}, outputError: () => {} });
  let captured: { command: string; opts: Record<string, unknown> } | undefined;
  for (const [name, cmd] of commands(program)) {
    cmd.exitOverride();
    cmd.configureOutput({ writeErr: () => {}, writeOut: () => {}, outputError: () => {} });
    cmd.action(() => {
      captured = { command: name, opts: cmd.opts() };
    });
  }
  const saved = { ...process.env };
  for (const k of Object.keys(process.env)) if (k.startsWith("CARDIO_")) delete process.env[k];
  Object.assign(process.env, env);
  try {
    await program.parseAsync(args, { from: "user" });
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  if (captured === undefined) throw new Error(`cardio ${args.join(" ")} ran no command`);
  return captured;
}

describe("docker-compose.yml", () => {
  it("parses as YAML with merge keys and has a genesis one-shot and 4 validators", () => {
    expect(compose.services.map((s) => s.name)).toEqual([
      "genesis",
      "validator-0",
      "validator-1",
      "validator-2",
      "validator-3",
    ]);
    for (const s of compose.services) expect(s.extra, `${s.name} uses keys the harness ignores`).toEqual([]);
    expect(plans.filter(isNodeService).map((p) => p.service.name)).toEqual([
      "validator-0",
      "validator-1",
      "validator-2",
      "validator-3",
    ]);
  });

  it("builds every image from the Dockerfile in this checkout", () => {
    for (const s of compose.services) {
      expect(s.build, s.name).toBeDefined();
      expect(existsSync(join(ROOT, s.build!.context, s.build!.dockerfile)), s.name).toBe(true);
    }
    expect(new Set(compose.services.map((s) => s.image)).size).toBe(1);
  });

  it("declares every volume it mounts, mounts every volume it declares, under the working directory", () => {
    const used = new Set(compose.services.flatMap((s) => s.volumes.map((v) => v.source)));
    expect([...used].sort()).toEqual([...compose.volumes].sort());
    for (const plan of plans) {
      for (const v of plan.service.volumes) {
        expect(v.type, `${plan.service.name}: ${v.source}`).toBe("volume");
        // Relative paths in the environment then reach the volumes, in a container and in the harness.
        expect(v.target.startsWith(`${plan.workingDir}/`), `${plan.service.name}: ${v.target}`).toBe(true);
      }
    }
    // The shared genesis volume everywhere, and a data volume of its own for each validator.
    const dataVolumes = plans.filter(isNodeService).map((p) => {
      expect(p.service.volumes.map((v) => v.source)).toContain("genesis");
      const data = p.service.volumes.filter((v) => v.source !== "genesis");
      expect(data).toHaveLength(1);
      expect(data[0]!.target).toBe(`${p.workingDir}/${p.env.CARDIO_DATA_DIR}`);
      return data[0]!.source;
    });
    expect(new Set(dataVolumes).size).toBe(4);
  });

  it("publishes each validator's API on its own host port, 8645-8648", () => {
    const hostPorts = plans.filter(isNodeService).map((p) => {
      expect(p.service.ports).toHaveLength(1);
      const port = p.service.ports[0]!;
      expect(port.container).toBe(apiPort(p));
      // Published ports reach the API only when it listens beyond the container's loopback.
      expect(p.env.CARDIO_API_HOST).toBe("0.0.0.0");
      return port.host;
    });
    expect(hostPorts).toEqual([8645, 8646, 8647, 8648]);
  });

  it("uses only environment variables and flags the cardio CLI reads, for the command each service runs", async () => {
    const cli = commands(buildProgram());
    for (const plan of plans) {
      const invocations = cardioInvocations(plan.containerArgv);
      expect(invocations, `${plan.service.name} runs cardio once`).toHaveLength(1);
      const args = invocations[0]!;
      const sub = cli.get(args[0]!);
      expect(sub, `${plan.service.name}: cardio ${args[0]}`).toBeDefined();
      const envVars = new Set(sub!.options.map((o) => o.envVar).filter((v) => v !== undefined));
      const flags = new Set(sub!.options.flatMap((o) => [o.long, o.short]).filter((f) => f !== undefined));
      for (const name of Object.keys(plan.service.environment))
        expect(envVars.has(name), `${plan.service.name}: ${name} is not read by cardio ${args[0]}`).toBe(
          true,
        );
      for (const a of args.slice(1).filter((x) => x.startsWith("-")))
        expect(flags.has(a.split("=")[0]!), `${plan.service.name}: cardio ${args[0]} has no ${a}`).toBe(true);
      // And the values parse: the real program reads them as the container would.
      const parsed = await parseWithCli(args, plan.service.environment);
      expect(parsed.command).toBe(args[0]);
    }
  });

  it("gives the validators different stakes, a future genesis time and a key each", async () => {
    const gen = await parseWithCli(["genesis"], byName("genesis").environment);
    const n = gen.opts.validators as number;
    const stakes = gen.opts.stake as bigint[];
    expect(n).toBe(4);
    expect(stakes).toEqual([100n, 50n, 25n, 10n]);
    expect(gen.opts.genesisTime).toMatch(/^\+[0-9]+(s|ms)?$/);
    expect(gen.opts.slotMs).toBe(1000);
    const nodes = plans.filter(isNodeService);
    const keys = await Promise.all(
      nodes.map(async (p) => (await parseWithCli(["start"], p.service.environment)).opts.key),
    );
    expect(keys).toEqual(nodes.map((_, i) => `${gen.opts.out}/node-${i}.key`));
    for (const p of nodes) {
      const opts = (await parseWithCli(["start"], p.service.environment)).opts;
      expect(opts.genesis).toBe(`${gen.opts.out}/genesis.json`);
      expect(opts.listen).toEqual(["/ip4/0.0.0.0/tcp/9000"]);
      expect(opts.mdns).toBe(true);
    }
  });

  it("bootstraps from /dns4/<service>/tcp/<port>/p2p/<id> with the ids the genesis seed gives", async () => {
    const gen = (await parseWithCli(["genesis"], byName("genesis").environment)).opts;
    const nodes = plans.filter(isNodeService);
    for (const p of nodes) {
      const opts = (await parseWithCli(["start"], p.service.environment)).opts;
      const list = opts.bootstrap as string[];
      expect(list).toHaveLength(nodes.length);
      for (const addr of list) {
        const m = /^\/dns4\/([a-z0-9-]+)\/tcp\/([0-9]+)\/p2p\/(12D3KooW[1-9A-HJ-NP-Za-km-z]+)$/.exec(addr);
        expect(m, addr).not.toBeNull();
        const [, service, port, id] = m!;
        const target = nodes.find((x) => x.service.name === service);
        expect(target, `${addr}: no service ${service}`).toBeDefined();
        const targetOpts = (await parseWithCli(["start"], target!.service.environment)).opts;
        expect(targetOpts.listen).toEqual([`/ip4/0.0.0.0/tcp/${port}`]);
        const index = Number(/node-([0-9]+)\.key$/.exec(String(targetOpts.key))![1]);
        expect(id).toBe(addressFromPublicKey(devnetKeyPair(String(gen.seed), index).publicKey));
      }
    }
  });

  it("checks health with node's fetch on the API port (no curl), restarts validators on failure", () => {
    for (const p of plans.filter(isNodeService)) {
      const hc = p.service.healthcheck;
      expect(hc?.kind).toBe("CMD");
      expect(hc!.argv[0]).toBe("node");
      expect(hc!.argv.join(" ")).not.toMatch(/curl|wget/);
      expect(hc!.argv.join(" ")).toContain(`http://127.0.0.1:${apiPort(p)}/health`);
      expect(hc!.retries).toBeGreaterThan(0);
      expect(p.service.restart).toBe("on-failure");
      expect(p.service.dependsOn).toEqual({ genesis: "service_completed_successfully" });
    }
    expect(byName("genesis").restart).toBe("no");
    expect(startOrder(compose.services)[0]).toBe("genesis");
  });

  it("runs the image's cardio: entrypoint paths map onto this checkout's build", () => {
    const node = plans.find((p) => p.service.name === "validator-0")!;
    expect(node.containerArgv).toEqual(["node", "/app/packages/node/dist/bin/cardio.js", "start"]);
    expect(node.argv[1]).toBe(join(ROOT, "packages/node/dist/bin/cardio.js"));
    expect(node.cwd).toBe("/host/roots/validator-0/cardio");
    expect(node.mounts).toEqual([
      { target: "/cardio/genesis", hostPath: "/host/volumes/genesis", volume: "genesis" },
      { target: "/cardio/data", hostPath: "/host/volumes/validator-0-data", volume: "validator-0-data" },
    ]);
    const genesis = plans.find((p) => p.service.name === "genesis")!;
    expect(genesis.containerArgv.slice(0, 2)).toEqual(["/bin/sh", "-c"]);
    expect(genesis.env.PATH?.startsWith("/host/bin:")).toBe(true);
  });

  it("keeps an existing genesis: a second `up` runs the one-shot again and changes nothing", async () => {
    const cardio: CardioCommand = await prepareCardio();
    const dir = await mkdtemp(join(tmpdir(), "cardio-composefile-"));
    try {
      const bin = join(dir, "bin");
      await mkdir(bin);
      await writeFile(
        join(bin, "cardio"),
        `#!/bin/sh\nexec "${process.execPath}" ${cardio.argv.map((a) => `"${a}"`).join(" ")} "$@"\n`,
      );
      await chmod(join(bin, "cardio"), 0o755);
      const genesis = plans.find((p) => p.service.name === "genesis")!;
      const workdir = join(dir, "cardio");
      await mkdir(workdir);
      const run = () =>
        runShell(genesis.containerArgv, workdir, {
          ...cardio.env,
          ...genesis.service.environment,
          PATH: `${bin}:${process.env.PATH}`,
        });
      const first = await run();
      expect(first.code, first.output).toBe(0);
      const files = (await readdir(join(workdir, "genesis"))).sort();
      expect(files).toEqual(["genesis.json", "node-0.key", "node-1.key", "node-2.key", "node-3.key"]);
      const before = await readFile(join(workdir, "genesis", "genesis.json"), "utf8");
      expect(JSON.parse(before).chainId).toBe("cardio-compose");
      expect((await stat(join(workdir, "genesis", "node-0.key"))).mode & 0o777).toBe(0o600);
      const second = await run();
      expect(second.code, second.output).toBe(0);
      expect(second.output).toContain("keeping it");
      expect(await readFile(join(workdir, "genesis", "genesis.json"), "utf8")).toBe(before);
    } finally {
      await cardio.cleanup();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function runShell(
  argv: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code, output }));
  });
}

describe("Dockerfile", () => {
  it("is multi-stage on a maintained Node LTS slim image, builds with npm ci, runs as non-root", () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    const base = dockerfile.globalArgs.NODE_IMAGE;
    expect(base).toMatch(/^node:(20|22)-bookworm-slim$/);
    for (const s of dockerfile.stages) expect(s.from).toBe(`\${NODE_IMAGE}`);
    const build = dockerfile.stages.find((s) => s.name === "build")!;
    const runs = build.instructions.filter((i) => i.name === "RUN").map((i) => i.args);
    expect(runs.some((r) => r.startsWith("npm ci"))).toBe(true);
    expect(runs).toContain("npm run build");
    const deps = dockerfile.stages.find((s) => s.name === "deps")!;
    expect(deps.instructions.some((i) => i.name === "RUN" && i.args.includes("npm ci --omit=dev"))).toBe(
      true,
    );
    expect(dockerfile.image.user).toBe("node");
    expect(dockerfile.image.entrypoint).toEqual([
      "node",
      `${IMAGE_APP_DIR}/packages/node/dist/bin/cardio.js`,
    ]);
    expect(dockerfile.image.workingDir).toBe("/cardio");
  });

  it("copies into the build only files that exist and that .dockerignore lets through", async () => {
    const ignore = (await readFile(join(ROOT, ".dockerignore"), "utf8"))
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    const ignored = (path: string): boolean =>
      ignore.some((pattern) => {
        const body = pattern
          .replace(/[.+^${}()|[\]\\]/g, "\\$&")
          .replace(/\*\*\//g, "\u0000")
          .replace(/\*/g, "[^/]*")
          .replace(/\u0000/g, "(.*/)?");
        const re = new RegExp(`^${body}(/.*)?$`);
        return re.test(path);
      });
    for (const stage of dockerfile.stages) {
      for (const ins of stage.instructions.filter((i) => i.name === "COPY" && !i.args.startsWith("--from"))) {
        const parts = ins.args.split(/\s+/).filter((p) => !p.startsWith("--"));
        for (const src of parts.slice(0, -1)) {
          expect(existsSync(join(ROOT, src)), `COPY ${src} (line ${ins.line})`).toBe(true);
          expect(ignored(src), `.dockerignore drops ${src}`).toBe(false);
        }
      }
    }
    expect(ignored("node_modules")).toBe(true);
    expect(ignored("packages/node/dist")).toBe(true);
    expect(ignored("packages/node/test/cli/x.test.ts")).toBe(true);
  });

  it("the runtime stage takes the compiled code from where `npm run build` writes it", async () => {
    const runtime = dockerfile.stages[dockerfile.stages.length - 1]!;
    const fromBuild = runtime.instructions.filter(
      (i) => i.name === "COPY" && i.args.startsWith("--from=build"),
    );
    for (const ins of fromBuild) {
      const [, src] = ins.args.split(/\s+/) as [string, string];
      const pkg = relative("/src", src); // packages/<name>/dist
      const tsconfig = JSON.parse(await readFile(join(ROOT, dirname(pkg), "tsconfig.json"), "utf8"));
      expect(tsconfig.compilerOptions.outDir).toBe("dist");
      expect(existsSync(join(ROOT, dirname(pkg), "src"))).toBe(true);
    }
    expect(fromBuild.map((i) => i.args.split(/\s+/)[1]).sort()).toEqual([
      "/src/packages/core/dist",
      "/src/packages/node/dist",
    ]);
    expect(existsSync(join(ROOT, "packages/node/src/bin/cardio.ts"))).toBe(true);
  });

  it("the runtime image has every package the code imports: dependencies, not devDependencies", async () => {
    const builtins = new Set((await import("node:module")).builtinModules);
    for (const pkg of ["core", "node"]) {
      const manifest = JSON.parse(await readFile(join(ROOT, "packages", pkg, "package.json"), "utf8"));
      const deps = new Set(Object.keys(manifest.dependencies ?? {}));
      for (const file of await sourceFiles(join(ROOT, "packages", pkg, "src"))) {
        const text = await readFile(file, "utf8");
        for (const m of text.matchAll(
          /(?:^|\n)\s*(?:import|export)\s(?:[^"';]*?\sfrom\s)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g,
        )) {
          const spec = m[1] ?? m[2]!;
          if (spec.startsWith(".") || spec.startsWith("node:") || builtins.has(spec)) continue;
          if (/^(import|export)\s+type\s/.test(m[0].trim())) continue;
          const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
          expect(
            deps.has(name),
            `${relative(ROOT, file)} imports ${spec}, not a dependency of @cardio/${pkg}`,
          ).toBe(true);
        }
      }
    }
  });
});

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(p)));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

describe("compose harness pieces", () => {
  it("reads merge keys, both environment syntaxes, durations and healthcheck forms", () => {
    const doc = parseComposeDocument(
      parseComposeYaml(`
x-base: &base
  image: cardio:local
  build: .
services:
  a:
    <<: *base
    environment: [A=1, B=x=y]
    healthcheck:
      test: node -e 1
      interval: 1m30s
      start_period: 500ms
  b:
    <<: *base
    image: cardio:other
    command: start --api 9 "--listen" '/ip4/0.0.0.0/tcp/1'
    depends_on: [a]
    volumes:
      - type: volume
        source: v
        target: /x
volumes:
  v:
`),
    );
    const [a, b] = doc.services as [ComposeService, ComposeService];
    expect(a.environment).toEqual({ A: "1", B: "x=y" });
    expect(a.healthcheck).toMatchObject({
      kind: "CMD-SHELL",
      argv: ["node -e 1"],
      intervalMs: 90_000,
      startPeriodMs: 500,
    });
    expect(b.image).toBe("cardio:other");
    expect(b.build).toEqual({ context: ".", dockerfile: "Dockerfile" });
    expect(b.command).toEqual(["start", "--api", "9", "--listen", "/ip4/0.0.0.0/tcp/1"]);
    expect(b.dependsOn).toEqual({ a: "service_started" });
    expect(b.volumes).toEqual([{ source: "v", target: "/x", type: "volume", readOnly: false }]);
  });

  it("orders services by depends_on and refuses cycles and unknown services", () => {
    const svc = (name: string, deps: string[]) => ({
      name,
      dependsOn: Object.fromEntries(deps.map((d) => [d, "service_healthy" as const])),
    });
    expect(startOrder([svc("c", ["b"]), svc("b", ["a"]), svc("a", [])])).toEqual(["a", "b", "c"]);
    expect(() => startOrder([svc("a", ["b"]), svc("b", ["a"])])).toThrow(/cycle/);
    expect(() => startOrder([svc("a", ["zz"])])).toThrow(/unknown service zz/);
  });

  it("knows when a dependency's condition is met or can no longer be", () => {
    const base = { started: true, healthy: false, unhealthy: false, exitCode: undefined, running: true };
    expect(dependencyState("service_started", base)).toBe("met");
    expect(dependencyState("service_healthy", base)).toBe("pending");
    expect(dependencyState("service_healthy", { ...base, healthy: true })).toBe("met");
    expect(dependencyState("service_healthy", { ...base, unhealthy: true })).toBe("failed");
    expect(dependencyState("service_completed_successfully", base)).toBe("pending");
    expect(dependencyState("service_completed_successfully", { ...base, running: false, exitCode: 0 })).toBe(
      "met",
    );
    expect(dependencyState("service_completed_successfully", { ...base, running: false, exitCode: 1 })).toBe(
      "failed",
    );
  });

  it("the mDNS-only variant strips the bootstrap variable and flags, and nothing else", () => {
    const s = byName("validator-1");
    const stripped = withoutBootstrap({
      ...s,
      command: ["start", "--bootstrap", "/x", "--bootstrap=/y", "--api", "1"],
    });
    expect(stripped.environment.CARDIO_BOOTSTRAP).toBeUndefined();
    expect(stripped.command).toEqual(["start", "--api", "1"]);
    const { CARDIO_BOOTSTRAP: _gone, ...rest } = s.environment;
    expect(stripped.environment).toEqual(rest);
  });

  it("maps container paths: volumes, the image's /app, and nothing else", () => {
    const at = {
      root: "/r",
      mounts: [
        { target: "/cardio/genesis", hostPath: "/v/g", volume: "g" },
        { target: "/cardio", hostPath: "/v/c", volume: "c" },
      ],
      repoRoot: "/repo",
      binDir: "/bin2",
    };
    expect(mapContainerPath("/cardio/genesis/genesis.json", at)).toBe("/v/g/genesis.json");
    expect(mapContainerPath("/cardio/x", at)).toBe("/v/c/x");
    expect(mapContainerPath("/cardiox", at)).toBe("/cardiox");
    expect(mapContainerPath("/app/packages/node/dist/bin/cardio.js", at)).toBe(
      "/repo/packages/node/dist/bin/cardio.js",
    );
    expect(mapContainerPath("/usr/local/bin/cardio", at)).toBe("/bin2/cardio");
    expect(mapContainerPath("/bin/sh", at)).toBe("/bin/sh");
  });

  it("reads Dockerfile continuations, ENV forms and the final stage's config", () => {
    const d = parseDockerfile(
      [
        "ARG B=node:20-bookworm-slim",
        `FROM \${B} AS one`,
        'ENTRYPOINT ["a"]',
        `FROM \${B}`,
        'ENV X=1 Y="two words"',
        "ENV Z 3",
        "WORKDIR /w",
        "WORKDIR sub",
        "RUN a \\",
        "  # comment inside",
        "  && b",
        "USER node",
        'CMD ["--help"]',
      ].join("\n"),
    );
    expect(d.stages.map((s) => s.name)).toEqual(["one", undefined]);
    expect(d.image).toEqual({
      entrypoint: [],
      cmd: ["--help"],
      workingDir: "/w/sub",
      env: { X: "1", Y: "two words", Z: "3" },
      user: "node",
    });
    expect(d.stages[1]!.instructions.find((i) => i.name === "RUN")!.args).toBe("a && b");
  });
});
