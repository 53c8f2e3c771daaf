import { readFile } from "node:fs/promises";

/*
 * Just enough of a Dockerfile reader to know what a container of its final stage runs: its
 * ENTRYPOINT, CMD, WORKDIR, ENV and USER, plus every instruction (for checks such as "each COPY
 * source exists").
 */

export interface DockerInstruction {
  /** Upper-case instruction name: FROM, COPY, RUN… */
  name: string;
  /** The rest of the instruction, continuation lines joined. */
  args: string;
  /** 1-based line where it starts. */
  line: number;
}

export interface DockerStage {
  /** `AS <name>`, if any. */
  name?: string;
  /** Base image as written (ARGs not expanded). */
  from: string;
  instructions: DockerInstruction[];
}

/** What a container of the final stage starts with. */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  env: Record<string, string>;
  user?: string;
}

export interface Dockerfile {
  stages: DockerStage[];
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  /** Config of the final stage. */
  image: ImageConfig;
}

export async function loadDockerfile(path: string): Promise<Dockerfile> {
  return parseDockerfile(await readFile(path, "utf8"));
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions = splitInstructions(text);
  const stages: DockerStage[] = [];
  const globalArgs: Record<string, string> = {};
  for (const ins of instructions) {
    if (ins.name === "FROM") {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (m === null) throw new Error(`Dockerfile line ${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ from: m[1]!, ...(m[2] === undefined ? {} : { name: m[2] }), instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (stage === undefined) {
      if (ins.name === "ARG") {
        const [k, v = ""] = ins.args.split("=", 2) as [string, string | undefined];
        globalArgs[k.trim()] = v.trim();
        continue;
      }
      throw new Error(`Dockerfile line ${ins.line}: ${ins.name} before the first FROM`);
    }
    stage.instructions.push(ins);
  }
  const last = stages[stages.length - 1];
  if (last === undefined) throw new Error("Dockerfile has no FROM");
  return { stages, globalArgs, image: imageConfig(last) };
}

function imageConfig(stage: DockerStage): ImageConfig {
  const config: ImageConfig = { entrypoint: [], cmd: [], workingDir: "/", env: {} };
  for (const ins of stage.instructions) {
    switch (ins.name) {
      case "ENTRYPOINT":
        config.entrypoint = execForm(ins);
        // As in Docker: a new ENTRYPOINT resets the CMD inherited so far.
        config.cmd = [];
        break;
      case "CMD":
        config.cmd = execForm(ins);
        break;
      case "WORKDIR":
        config.workingDir = ins.args.startsWith("/")
          ? ins.args
          : `${config.workingDir.replace(/\/$/, "")}/${ins.args}`;
        break;
      case "USER":
        config.user = ins.args;
        break;
      case "ENV":
        Object.assign(config.env, envPairs(ins));
        break;
    }
  }
  return config;
}

/** ENTRYPOINT/CMD in exec (JSON) form; the shell form becomes `/bin/sh -c <text>`. */
function execForm(ins: DockerInstruction): string[] {
  if (ins.args.startsWith("[")) {
    const parsed: unknown = JSON.parse(ins.args);
    if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string"))
      throw new Error(`Dockerfile line ${ins.line}: ${ins.name} must be a JSON list of strings`);
    return parsed;
  }
  return ["/bin/sh", "-c", ins.args];
}

function envPairs(ins: DockerInstruction): Record<string, string> {
  const out: Record<string, string> = {};
  const text = ins.args;
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(text)) {
    // Legacy `ENV KEY value`.
    const m = /^(\S+)\s+(.*)$/.exec(text);
    if (m === null) throw new Error(`Dockerfile line ${ins.line}: cannot read ENV ${text}`);
    out[m[1]!] = m[2]!;
    return out;
  }
  for (const m of text.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    let v = m[2]!;
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, "$1");
    else if (v.startsWith("'")) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

/** Instructions with comments dropped and `\` continuations joined. */
function splitInstructions(text: string): DockerInstruction[] {
  const out: DockerInstruction[] = [];
  const lines = text.split(/\r?\n/);
  let buf: string | undefined;
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed.startsWith("#")) continue; // comments (and parser directives) — also inside continuations
    if (buf === undefined) {
      if (trimmed === "") continue;
      buf = "";
      start = i + 1;
    }
    if (trimmed.endsWith("\\")) {
      buf += `${trimmed.slice(0, -1).trim()} `;
      continue;
    }
    buf += trimmed;
    const m = /^(\S+)\s*(.*)$/s.exec(buf.trim());
    if (m !== null) out.push({ name: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
    buf = undefined;
  }
  return out;
}
