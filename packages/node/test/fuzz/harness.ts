/**
 * A real node under attack, for the fuzz and resource-limit tests:
 *
 * - `startVictim`: one validator (`createNode`, in-process, real libp2p on loopback, forging), with
 *   a logger that keeps warnings and errors (a handler that catches an unexpected exception logs
 *   one) and a recorder of gossip verdicts read off the node's own metrics registry.
 * - `Attacker`: a raw `createNetwork` peer that dials the victim and sends what it is told on the
 *   gossip topics and request/response protocols. It can change identity: gossipsub graylists a
 *   peer whose messages were rejected (score below -80), after which nothing it sends reaches the
 *   victim's handlers, so a fuzzer that must reach the handlers moves to a fresh key.
 * - `watchProcessHazards`: records `unhandledRejection` and `uncaughtException` for the test to assert none.
 * - `forgingWindow`: what the victim forged between two moments, from its canonical chain.
 */
import "../../src/network/polyfill.js";
import { createDevnet, type Genesis, type KeyPair, keyPairFromSeed, sha256, utf8 } from "@cardio/core";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Libp2p, Stream } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import type { Counter } from "prom-client";
import { type CardioNode, createNode } from "../../src/index.js";
import { createNetwork, type Network, type NetworkOptions } from "../../src/network/index.js";
import type { CardioNodeOptions } from "../../src/nodeTypes.js";

export type Verdict = "accept" | "ignore" | "reject";

/** Process-level failures seen while a test ran. */
export interface Hazards {
  unhandledRejections: unknown[];
  uncaughtExceptions: unknown[];
  stop(): void;
}

export function watchProcessHazards(): Hazards {
  const h: Hazards = {
    unhandledRejections: [],
    uncaughtExceptions: [],
    stop: () => {
      process.off("unhandledRejection", onRejection);
      process.off("uncaughtException", onException);
    },
  };
  const onRejection = (reason: unknown) => h.unhandledRejections.push(reason);
  const onException = (err: unknown) => h.uncaughtExceptions.push(err);
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
  return h;
}

/** Keeps warn/error entries (with their fields) and counts the rest by message. */
export interface KeepingLogger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
  kept: Array<{ level: string; msg: string; obj: Record<string, unknown> }>;
  counts: Map<string, number>;
  /** Warnings and errors whose message contains `text`. */
  find(text: string): Array<{ level: string; msg: string; obj: Record<string, unknown> }>;
}

export function keepingLogger(): KeepingLogger {
  const kept: KeepingLogger["kept"] = [];
  const counts = new Map<string, number>();
  const count = (msg = "") => counts.set(msg, (counts.get(msg) ?? 0) + 1);
  return {
    kept,
    counts,
    debug: (_obj, msg) => count(msg),
    info: (_obj, msg) => count(msg),
    warn: (obj, msg) => {
      count(msg);
      if (kept.length < 10_000) kept.push({ level: "warn", msg: msg ?? "", obj });
    },
    error: (obj, msg) => {
      count(msg);
      if (kept.length < 10_000) kept.push({ level: "error", msg: msg ?? "", obj });
    },
    find: (text) => kept.filter((e) => e.msg.includes(text)),
  };
}

/**
 * Log lines a node writes only when something threw that its code did not expect (the handler's
 * catch-all); a peer must never be able to cause one.
 */
export const UNEXPECTED_FAILURE_LOGS = [
  "block import failed",
  "tx handling failed",
  "gossip handler threw; rejecting",
  "gossip handler returned no verdict; rejecting",
  "gossip validation failed unexpectedly",
  "request handler failed",
  "forging failed",
  "api error",
];

/** Every gossip verdict the victim counted, in order, as the node's own metric sees it. */
export class VerdictLog {
  readonly entries: Array<{ topic: string; verdict: Verdict }> = [];
  private waiters: Array<() => void> = [];

  constructor(private readonly counter: Counter<"topic" | "verdict">) {
    const inc = counter.inc.bind(counter) as (...args: unknown[]) => void;
    // The node calls `inc({ topic, verdict })` once per message it judged; observe each call as it happens.
    (counter as { inc: unknown }).inc = (...args: unknown[]) => {
      inc(...args);
      const labels = args[0] as { topic: string; verdict: Verdict };
      this.entries.push({ topic: labels.topic, verdict: labels.verdict });
      for (const w of this.waiters.splice(0)) w();
    };
  }

  get count(): number {
    return this.entries.length;
  }

  /** Resolves true once at least `n` verdicts were counted, false after `timeoutMs`. */
  async waitFor(n: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.entries.length < n) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /** The totals of `cardio_gossip_messages_total` read back from the registry (topic → verdict → n). */
  async registryTotals(): Promise<Record<string, Record<string, number>>> {
    const { values } = await this.counter.get();
    const out: Record<string, Record<string, number>> = {};
    for (const v of values) {
      const topic = String(v.labels.topic);
      out[topic] ??= {};
      out[topic][String(v.labels.verdict)] = v.value;
    }
    return out;
  }
}

export interface Victim {
  node: CardioNode;
  genesis: Genesis;
  /** keys[0] is the validator (the node's key); the others are funded accounts that do not forge. */
  keys: readonly KeyPair[];
  log: KeepingLogger;
  verdicts: VerdictLog;
  topics: { blocks: string; txs: string };
  addr: string;
  stop(): Promise<void>;
}

export interface VictimOptions {
  seed: string;
  slotMs?: number;
  /** Funded accounts besides the validator (no stake, so only the validator forges). Default 0. */
  funded?: number;
  maxBlockBytes?: number;
  node?: Partial<CardioNodeOptions>;
}

export async function startVictim(opts: VictimOptions): Promise<Victim> {
  const funded = opts.funded ?? 0;
  const chainId = `fuzz-${sha256(utf8(opts.seed))
    .slice(0, 4)
    .reduce((s, b) => s + b.toString(16).padStart(2, "0"), "")}`;
  const { genesis, keys } = createDevnet({
    seed: opts.seed,
    chainId,
    validators: 1 + funded,
    stakes: [100n, ...Array.from({ length: funded }, () => 0n)],
    balance: 1_000_000n,
    slotMs: opts.slotMs ?? 200,
    genesisTime: Date.now() + 200,
    ...(opts.maxBlockBytes === undefined ? {} : { maxBlockBytes: opts.maxBlockBytes }),
  });
  const log = keepingLogger();
  const node = createNode({
    genesis,
    key: keys[0]!,
    mdns: false,
    slotLog: false,
    logger: log,
    ...opts.node,
  });
  await node.start();
  const counter = node.metrics.getSingleMetric("cardio_gossip_messages_total") as Counter<
    "topic" | "verdict"
  >;
  const verdicts = new VerdictLog(counter);
  return {
    node,
    genesis,
    keys,
    log,
    verdicts,
    topics: { blocks: `/cardio/${chainId}/blocks/1`, txs: `/cardio/${chainId}/txs/1` },
    addr: node.multiaddrs()[0]!,
    stop: () => node.stop(),
  };
}

/** A raw libp2p peer (the project's own `createNetwork`) that can change identity. */
export class Attacker {
  net!: Network;
  identities = 0;

  private constructor(
    private readonly victim: Victim,
    private readonly options: Partial<NetworkOptions>,
    private readonly setup: (net: Network) => void,
  ) {}

  /** Connects a first identity. `setup` registers handlers on every identity before it starts. */
  static async connect(
    victim: Victim,
    options: Partial<NetworkOptions> = {},
    setup: (net: Network) => void = () => {},
  ): Promise<Attacker> {
    const a = new Attacker(victim, options, setup);
    await a.rotate();
    return a;
  }

  get peerId(): string {
    return this.net.peerId;
  }

  /** Drops the current identity (stops its network) and connects a fresh key. */
  async rotate(): Promise<void> {
    const old = this.net;
    const net = createNetwork({
      privateKey: await generateKeyPair("Ed25519"),
      chainId: this.victim.genesis.chainId,
      mdns: false,
      ...this.options,
    });
    this.setup(net);
    await net.start();
    await net.dial(this.victim.addr);
    const deadline = Date.now() + 10_000;
    // Publishing reaches the victim only once its subscriptions reached us.
    while (
      !(
        net.subscribers(this.victim.topics.blocks).includes(this.victim.node.peerId) &&
        net.subscribers(this.victim.topics.txs).includes(this.victim.node.peerId)
      )
    ) {
      if (Date.now() > deadline) throw new Error("victim's subscriptions never arrived");
      await new Promise((r) => setTimeout(r, 5));
    }
    this.net = net;
    this.identities++;
    if (old !== undefined) await old.stop();
  }

  async stop(): Promise<void> {
    await this.net?.stop();
  }
}

/**
 * Sends gossip inputs one at a time and waits for the victim's verdict on each, so each counted
 * verdict belongs to one input. When no verdict comes (the identity was graylisted, and gossipsub
 * dropped the message before validation), the attacker changes identity and sends the input again,
 * unless its verdict arrived meanwhile (a slow import, not a drop).
 */
export async function sendEach(
  attacker: Attacker,
  victim: Victim,
  topic: string,
  inputs: readonly Uint8Array[],
  opts: { timeoutMs?: number; maxRetries?: number } = {},
): Promise<{ verdicts: Verdict[]; rotations: number; ms: number }> {
  const timeoutMs = opts.timeoutMs ?? 800;
  const maxRetries = opts.maxRetries ?? 4;
  const start = victim.verdicts.count;
  const t0 = performance.now();
  let rotations = 0;
  for (let i = 0; i < inputs.length; i++) {
    const want = start + i + 1;
    for (let attempt = 0; ; attempt++) {
      await attacker.net.publish(topic, inputs[i]!);
      if (await victim.verdicts.waitFor(want, timeoutMs)) break;
      if (attempt >= maxRetries) {
        throw new Error(
          `input ${i} (${inputs[i]!.length} bytes) never got a verdict after ${attempt + 1} identities`,
        );
      }
      await attacker.rotate();
      rotations++;
      if (victim.verdicts.count >= want) break; // it was only slow
    }
  }
  const verdicts = victim.verdicts.entries.slice(start).map((e) => e.verdict);
  return { verdicts, rotations, ms: performance.now() - t0 };
}

/** What the victim's canonical chain gained between two heads: blocks, proposers, txs. */
export async function chainSince(
  node: CardioNode,
  fromHeight: number,
): Promise<{ blocks: number; proposers: Set<string>; txs: number; firstSlot: number; lastSlot: number }> {
  const head = node.head();
  const proposers = new Set<string>();
  let txs = 0;
  let firstSlot = -1;
  for (let h = fromHeight + 1; h <= head.height; h++) {
    const b = await node.chain.canonicalBlockAt(h);
    if (b === undefined) throw new Error(`no canonical block at ${h}`);
    proposers.add(Buffer.from(b.block.header.proposer).toString("hex"));
    txs += b.block.txs.length;
    if (firstSlot < 0) firstSlot = b.block.header.slot;
  }
  return { blocks: head.height - fromHeight, proposers, txs, firstSlot, lastSlot: head.slot };
}

/** A key with no funds on any chain (for signing garbage that verifies). */
export function strangerKey(tag: string): KeyPair {
  return keyPairFromSeed(sha256(utf8(`stranger-${tag}`)));
}

/** The current slot of `genesis` by the wall clock. */
export function slotNow(genesis: Genesis): number {
  return Math.floor((Date.now() - genesis.genesisTime) / genesis.slotMs);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A bare libp2p node (tcp, noise, yamux; no gossipsub, no cardio framing) for sending raw bytes on the
 * victim's request/response protocols: broken varints, lying lengths, streams that stay open.
 */
export interface RawPeer {
  libp2p: Libp2p;
  /**
   * Opens a stream of `/cardio/<chainId>/<name>/1` on the victim; `optimistic` skips the protocol
   * negotiation round trip (the protocol id goes out with the first bytes).
   */
  open(name: string, opts?: { optimistic?: boolean }): Promise<Stream>;
  stop(): Promise<void>;
}

export async function startRawPeer(victim: Victim): Promise<RawPeer> {
  const libp2p = await createLibp2p({
    privateKey: await generateKeyPair("Ed25519"),
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
  const ma = multiaddr(victim.addr);
  return {
    libp2p,
    async open(name, opts = {}) {
      // The victim hangs up on a peer whose status names another genesis: dial again then.
      for (let attempt = 0; ; attempt++) {
        try {
          const connection = await libp2p.dial(ma);
          return await connection.newStream(`/cardio/${victim.genesis.chainId}/${name}/1`, {
            // The victim allows 32 inbound streams per protocol and connection; we may want to try more.
            maxOutboundStreams: 1024,
            ...(opts.optimistic === true ? { negotiateFully: false } : {}),
          });
        } catch (err) {
          if (attempt >= 5) throw err;
          await sleep(50);
        }
      }
    },
    stop: async () => {
      await libp2p.stop();
    },
  };
}

/** LEB128, the length prefix of the request/response frames. */
export function varint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/**
 * Writes `bytes` on `stream`, closes our side, and collects what comes back until the victim closes
 * or resets the stream (or `timeoutMs` passes: `timedOut`).
 */
export async function exchangeRaw(
  stream: Stream,
  bytes: Uint8Array,
  timeoutMs: number,
): Promise<{ received: Uint8Array; ended: "closed" | "reset" | "timedOut"; ms: number }> {
  const t0 = performance.now();
  const chunks: Uint8Array[] = [];
  const state: { ended: "closed" | "reset" | "timedOut" } = { ended: "closed" };
  const timer = setTimeout(() => {
    state.ended = "timedOut";
    stream.abort(new Error("test timeout"));
  }, timeoutMs);
  try {
    const reading = (async () => {
      for await (const chunk of stream.source) chunks.push(chunk.subarray());
    })();
    // The sink closes our writing side once the source is done.
    await stream.sink(bytes.length > 0 ? [bytes] : []);
    await reading;
  } catch {
    if (state.ended !== "timedOut") state.ended = "reset";
  } finally {
    clearTimeout(timer);
  }
  let size = 0;
  for (const c of chunks) size += c.length;
  const received = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    received.set(c, o);
    o += c.length;
  }
  return { received, ended: state.ended, ms: performance.now() - t0 };
}
