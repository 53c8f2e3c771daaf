import { readFile } from "node:fs/promises";
import { parse } from "yaml";

/** A parsed YAML value. */
export type YamlValue = null | boolean | number | string | YamlValue[] | { [key: string]: YamlValue };

/*
 * The part of the Compose specification that cardio's docker-compose.yml uses, read into plain,
 * normalised objects (short and long syntaxes both become one shape). Anything else a service
 * says is kept in `extra` so a caller can refuse what it does not emulate.
 */

/** A `volumes:` entry of a service. */
export interface VolumeMount {
  /** Named volume (or host path for a bind mount). */
  source: string;
  /** Path inside the container. */
  target: string;
  type: "volume" | "bind";
  readOnly: boolean;
}

/** A `ports:` entry: host port → container port. */
export interface PortMapping {
  host?: number;
  hostIp?: string;
  container: number;
  protocol: "tcp" | "udp";
}

export type DependencyCondition = "service_started" | "service_healthy" | "service_completed_successfully";

/** A `healthcheck:` block; durations in ms. */
export interface Healthcheck {
  /** `CMD` (argv run directly) or `CMD-SHELL` (one string run by `/bin/sh -c`). */
  kind: "CMD" | "CMD-SHELL";
  argv: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export type RestartPolicy = "no" | "always" | "on-failure" | "unless-stopped";

export interface ComposeService {
  name: string;
  image?: string;
  /** Build context (and Dockerfile) when the service builds its image. */
  build?: { context: string; dockerfile: string };
  /** Overrides the image's ENTRYPOINT when set. */
  entrypoint?: string[];
  /** Overrides the image's CMD when set. */
  command?: string[];
  workingDir?: string;
  environment: Record<string, string>;
  volumes: VolumeMount[];
  ports: PortMapping[];
  dependsOn: Record<string, DependencyCondition>;
  /** undefined: none (or the image's, which cardio's image does not set). */
  healthcheck?: Healthcheck;
  restart: RestartPolicy;
  /** Keys of the service this reader does not interpret. */
  extra: string[];
}

export interface ComposeFile {
  name?: string;
  services: ComposeService[];
  /** Top-level named volumes. */
  volumes: string[];
  networks: string[];
}

/** A compose file that does not say what this reader needs, or says it wrongly. */
export class ComposeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ComposeError";
  }
}

const KNOWN_SERVICE_KEYS = new Set([
  "image",
  "build",
  "entrypoint",
  "command",
  "working_dir",
  "environment",
  "volumes",
  "ports",
  "depends_on",
  "healthcheck",
  "restart",
]);

/** Reads and normalises a compose file. */
export async function loadComposeFile(path: string): Promise<ComposeFile> {
  return parseComposeDocument(parseComposeYaml(await readFile(path, "utf8")));
}

/** Parses compose YAML as Compose does: YAML 1.2 with merge keys (`<<: *anchor`) on. */
export function parseComposeYaml(text: string): YamlValue {
  return parse(text, { merge: true }) as YamlValue;
}

/** Normalises a parsed compose document. */
export function parseComposeDocument(doc: YamlValue): ComposeFile {
  const top = asMap(doc, "the compose file");
  const services = asMap(top.services, "services");
  const volumes = top.volumes === undefined || top.volumes === null ? {} : asMap(top.volumes, "volumes");
  const networks = top.networks === undefined || top.networks === null ? {} : asMap(top.networks, "networks");
  return {
    ...(typeof top.name === "string" ? { name: top.name } : {}),
    services: Object.entries(services).map(([name, s]) => parseService(name, asMap(s, `service ${name}`))),
    volumes: Object.keys(volumes),
    networks: Object.keys(networks),
  };
}

function parseService(name: string, s: Record<string, YamlValue>): ComposeService {
  const where = `service ${name}`;
  const service: ComposeService = {
    name,
    environment: parseEnvironment(s.environment, where),
    volumes: asList(s.volumes ?? [], `${where}: volumes`).map((v) => parseVolume(v, where)),
    ports: asList(s.ports ?? [], `${where}: ports`).map((p) => parsePort(p, where)),
    dependsOn: parseDependsOn(s.depends_on, where),
    restart: parseRestart(s.restart, where),
    extra: Object.keys(s).filter((k) => !KNOWN_SERVICE_KEYS.has(k) && !k.startsWith("x-")),
  };
  if (s.image !== undefined) service.image = asString(s.image, `${where}: image`);
  if (s.build !== undefined) service.build = parseBuild(s.build, where);
  if (s.entrypoint !== undefined && s.entrypoint !== null)
    service.entrypoint = commandList(s.entrypoint, `${where}: entrypoint`);
  if (s.command !== undefined && s.command !== null)
    service.command = commandList(s.command, `${where}: command`);
  if (s.working_dir !== undefined) service.workingDir = asString(s.working_dir, `${where}: working_dir`);
  if (s.healthcheck !== undefined && s.healthcheck !== null) {
    const hc = parseHealthcheck(asMap(s.healthcheck, `${where}: healthcheck`), where);
    if (hc !== undefined) service.healthcheck = hc;
  }
  if (service.image === undefined && service.build === undefined)
    throw new ComposeError(`${where} has neither image nor build`);
  return service;
}

function parseBuild(v: YamlValue, where: string): { context: string; dockerfile: string } {
  if (typeof v === "string") return { context: v, dockerfile: "Dockerfile" };
  const m = asMap(v, `${where}: build`);
  return {
    context: m.context === undefined ? "." : asString(m.context, `${where}: build.context`),
    dockerfile:
      m.dockerfile === undefined ? "Dockerfile" : asString(m.dockerfile, `${where}: build.dockerfile`),
  };
}

/** `environment:` as a map or as a list of `KEY=value`; values become strings as Compose does. */
export function parseEnvironment(v: YamlValue | undefined, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (Array.isArray(v)) {
    for (const item of v) {
      const text = asString(item, `${where}: environment entry`);
      const eq = text.indexOf("=");
      if (eq <= 0)
        throw new ComposeError(
          `${where}: environment entry ${JSON.stringify(text)} has no value (KEY=value)`,
        );
      out[text.slice(0, eq)] = text.slice(eq + 1);
    }
    return out;
  }
  for (const [k, value] of Object.entries(asMap(v, `${where}: environment`))) {
    if (value === null) throw new ComposeError(`${where}: environment ${k} has no value`);
    if (typeof value === "object") throw new ComposeError(`${where}: environment ${k} must be a scalar`);
    out[k] = String(value);
  }
  return out;
}

function parseVolume(v: YamlValue, where: string): VolumeMount {
  if (typeof v === "string") {
    const parts = v.split(":");
    if (parts.length < 2 || parts.length > 3)
      throw new ComposeError(`${where}: volume ${JSON.stringify(v)} must be source:target[:mode]`);
    const [source, target, mode] = parts as [string, string, string | undefined];
    return {
      source,
      target,
      type: isPathLike(source) ? "bind" : "volume",
      readOnly: mode?.split(",").includes("ro") === true,
    };
  }
  const m = asMap(v, `${where}: volume`);
  const type = m.type === undefined ? "volume" : asString(m.type, `${where}: volume type`);
  if (type !== "volume" && type !== "bind")
    throw new ComposeError(`${where}: volume type ${type} is not supported`);
  return {
    source: asString(m.source, `${where}: volume source`),
    target: asString(m.target, `${where}: volume target`),
    type,
    readOnly: m.read_only === true,
  };
}

function isPathLike(source: string): boolean {
  return source.startsWith("/") || source.startsWith(".") || source.startsWith("~");
}

function parsePort(v: YamlValue, where: string): PortMapping {
  if (typeof v === "number") return { container: v, protocol: "tcp" };
  if (typeof v === "string") {
    const [spec, proto = "tcp"] = v.split("/") as [string, string | undefined];
    if (proto !== "tcp" && proto !== "udp") throw new ComposeError(`${where}: port ${v}: bad protocol`);
    const parts = spec.split(":");
    const num = (t: string): number => {
      if (!/^[0-9]+$/.test(t) || Number(t) < 1 || Number(t) > 65_535)
        throw new ComposeError(`${where}: port ${JSON.stringify(v)}: ${JSON.stringify(t)} is not a port`);
      return Number(t);
    };
    if (parts.length === 1) return { container: num(parts[0]!), protocol: proto };
    if (parts.length === 2) return { host: num(parts[0]!), container: num(parts[1]!), protocol: proto };
    if (parts.length === 3)
      return { hostIp: parts[0]!, host: num(parts[1]!), container: num(parts[2]!), protocol: proto };
    throw new ComposeError(`${where}: port ${JSON.stringify(v)} is not [[ip:]host:]container[/proto]`);
  }
  const m = asMap(v, `${where}: port`);
  const target = m.target;
  if (typeof target !== "number") throw new ComposeError(`${where}: port needs a numeric target`);
  const published = m.published;
  return {
    container: target,
    ...(published === undefined ? {} : { host: Number(published) }),
    ...(typeof m.host_ip === "string" ? { hostIp: m.host_ip } : {}),
    protocol: m.protocol === "udp" ? "udp" : "tcp",
  };
}

function parseDependsOn(v: YamlValue | undefined, where: string): Record<string, DependencyCondition> {
  const out: Record<string, DependencyCondition> = {};
  if (v === undefined || v === null) return out;
  if (Array.isArray(v)) {
    for (const name of v) out[asString(name, `${where}: depends_on`)] = "service_started";
    return out;
  }
  for (const [name, spec] of Object.entries(asMap(v, `${where}: depends_on`))) {
    const cond =
      spec === null
        ? "service_started"
        : (asMap(spec, `${where}: depends_on ${name}`).condition ?? "service_started");
    if (cond !== "service_started" && cond !== "service_healthy" && cond !== "service_completed_successfully")
      throw new ComposeError(`${where}: depends_on ${name}: unknown condition ${String(cond)}`);
    out[name] = cond;
  }
  return out;
}

function parseRestart(v: YamlValue | undefined, where: string): RestartPolicy {
  if (v === undefined || v === null || v === false) return "no";
  const text = asString(v, `${where}: restart`);
  const policy = text.split(":")[0];
  if (policy === "no" || policy === "always" || policy === "on-failure" || policy === "unless-stopped")
    return policy;
  throw new ComposeError(`${where}: unknown restart policy ${text}`);
}

function parseHealthcheck(m: Record<string, YamlValue>, where: string): Healthcheck | undefined {
  if (m.disable === true) return undefined;
  const test = m.test;
  let kind: "CMD" | "CMD-SHELL";
  let argv: string[];
  if (typeof test === "string") {
    kind = "CMD-SHELL";
    argv = [test];
  } else {
    const list = asList(test ?? null, `${where}: healthcheck.test`).map((t) =>
      asString(t, `${where}: healthcheck.test`),
    );
    const [head, ...rest] = list;
    if (head === "NONE") return undefined;
    if (head !== "CMD" && head !== "CMD-SHELL")
      throw new ComposeError(`${where}: healthcheck.test must start with CMD, CMD-SHELL or NONE`);
    if (rest.length === 0) throw new ComposeError(`${where}: healthcheck.test has no command`);
    kind = head;
    argv = head === "CMD-SHELL" ? [rest.join(" ")] : rest;
  }
  // Docker's defaults: 30 s interval, 30 s timeout, 3 retries, no start period.
  return {
    kind,
    argv,
    intervalMs:
      m.interval === undefined ? 30_000 : parseDuration(m.interval, `${where}: healthcheck.interval`),
    timeoutMs: m.timeout === undefined ? 30_000 : parseDuration(m.timeout, `${where}: healthcheck.timeout`),
    retries: m.retries === undefined ? 3 : Number(m.retries),
    startPeriodMs:
      m.start_period === undefined ? 0 : parseDuration(m.start_period, `${where}: healthcheck.start_period`),
  };
}

/** A Compose duration (`1m30s`, `5s`, `500ms`) in ms. */
export function parseDuration(v: YamlValue, where: string): number {
  const text = asString(v, where);
  const re = /([0-9]+(?:\.[0-9]+)?)(h|ms|m|s|us|ns)/g;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, ns: 0.000001 };
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * units[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed !== text.length || text.length === 0)
    throw new ComposeError(`${where}: ${JSON.stringify(text)} is not a duration such as 5s or 1m30s`);
  return total;
}

/** `command:` / `entrypoint:` as an argv: lists as they are; a string split as a shell would. */
function commandList(v: YamlValue, where: string): string[] {
  if (typeof v === "string") return shellWords(v, where);
  return asList(v, where).map((x) => {
    if (x === null || typeof x === "object") throw new ComposeError(`${where}: entries must be strings`);
    return String(x);
  });
}

/** Splits a command string into words the way Compose does (POSIX-shell quoting, no expansion). */
export function shellWords(text: string, where = "command"): string[] {
  const words: string[] = [];
  let cur: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new ComposeError(`${where}: unterminated ' quote`);
      cur = (cur ?? "") + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      let s = "";
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === "\\" && j + 1 < text.length && '"\\$`'.includes(text[j + 1]!)) j++;
        s += text[j];
      }
      if (j >= text.length) throw new ComposeError(`${where}: unterminated " quote`);
      cur = (cur ?? "") + s;
      i = j;
    } else if (c === "\\" && i + 1 < text.length) {
      cur = (cur ?? "") + text[++i];
    } else {
      cur = (cur ?? "") + c;
    }
  }
  if (cur !== undefined) words.push(cur);
  return words;
}

function asMap(v: YamlValue | undefined, what: string): Record<string, YamlValue> {
  if (v === null || v === undefined || typeof v !== "object" || Array.isArray(v))
    throw new ComposeError(`${what} must be a mapping`);
  return v;
}

function asList(v: YamlValue, what: string): YamlValue[] {
  if (!Array.isArray(v)) throw new ComposeError(`${what} must be a list`);
  return v;
}

function asString(v: YamlValue | undefined, what: string): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw new ComposeError(`${what} must be a string`);
}
