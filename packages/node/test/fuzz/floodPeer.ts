/**
 * A flooding peer in its own process, so that what it spends sending is not taken from the victim's
 * event loop (in one process the two would share one JavaScript thread, and a flood would look like
 * a stall of the victim that is really the attacker's own work).
 *
 * Run by `startFloodPeer` (a fork with tsx); commanded over IPC:
 * - `gossip`: publishes `count` messages on `topic`, each the template with a big-endian u32 counter
 *   (starting at `first`) written at `offset`, as fast as its stack sends, for at most `seconds`. With
 *   `rotateEvery` it changes identity every that many messages (a Sybil flood: fresh keys are not
 *   graylisted yet). It needs no chain code: the parent builds the template.
 * - `requests`: sends `payload` on request/response protocol `protocol` from `inFlight` streams at
 *   once for `seconds` (a bare libp2p peer, protocol chosen optimistically) and counts the answers by
 *   status byte.
 */
import "../../src/network/polyfill.js";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { createLibp2p } from "libp2p";
import { createNetwork, type Network } from "../../src/network/index.js";

export interface GossipFlood {
  kind: "gossip";
  addr: string;
  victimPeerId: string;
  chainId: string;
  topic: string;
  template: number[];
  offset: number;
  first: number;
  count: number;
  seconds: number;
  /** Messages per identity (default: one identity for the whole flood). */
  rotateEvery?: number;
  /** Publishes in flight at once (default 200). */
  batch?: number;
  /** Counter values repeat with this period (with `rotateEvery`, each key re-sends the same messages). */
  cycle?: number;
  /** How long to stay connected after the last publish, so queued messages still go out (default 0). */
  drainMs?: number;
}

export interface RequestFlood {
  kind: "requests";
  addr: string;
  protocol: string;
  payload: number[];
  inFlight: number;
  seconds: number;
}

export interface FloodResult {
  sent: number;
  seconds: number;
  identities: number;
  /** requests: answers by status byte (ok, error, rate-limited) and streams that got none. */
  ok: number;
  error: number;
  limited: number;
  none: number;
  answeredBytes: number;
  /** gossip: the peer ids used (at most the last 100), to read their scores at the victim. */
  peerIds?: string[];
  /** gossip: publishes that went to at least one peer (gossipsub may send to none). */
  delivered?: number;
}

async function gossip(cmd: GossipFlood): Promise<FloodResult> {
  let identities = 0;
  const peerIds: string[] = [];
  const connect = async (): Promise<Network> => {
    const net = createNetwork({
      privateKey: await generateKeyPair("Ed25519"),
      chainId: cmd.chainId,
      mdns: false,
    });
    await net.start();
    await net.dial(cmd.addr);
    const deadline = Date.now() + 10_000;
    while (!net.subscribers(cmd.topic).includes(cmd.victimPeerId)) {
      if (Date.now() > deadline) throw new Error("victim never subscribed");
      await new Promise((r) => setTimeout(r, 5));
    }
    identities++;
    peerIds.push(net.peerId);
    if (peerIds.length > 100) peerIds.shift();
    return net;
  };
  const template = Uint8Array.from(cmd.template);
  const message = (i: number) => {
    const m = template.slice();
    new DataView(m.buffer).setUint32(cmd.offset, cmd.first + (cmd.cycle === undefined ? i : i % cmd.cycle));
    return m;
  };
  const batch = cmd.batch ?? 200;
  let net = await connect();
  let sent = 0;
  let delivered = 0;
  let sinceRotation = 0;
  const t0 = performance.now();
  while (sent < cmd.count && performance.now() - t0 < cmd.seconds * 1000) {
    if (cmd.rotateEvery !== undefined && sinceRotation >= cmd.rotateEvery) {
      const old = net;
      net = await connect();
      void old.stop();
      sinceRotation = 0;
    }
    const n = Math.min(
      batch,
      cmd.count - sent,
      (cmd.rotateEvery ?? Number.POSITIVE_INFINITY) - sinceRotation,
    );
    const recipients = await Promise.all(
      Array.from({ length: n }, (_, k) => net.publish(cmd.topic, message(sent + k))),
    );
    for (const r of recipients) if (r > 0) delivered++;
    sent += n;
    sinceRotation += n;
    // publish() resolves once a message is queued; yield so the queue actually goes out on the socket
    // (without this the loop never leaves the microtask queue and nothing is written until it ends).
    await new Promise((r) => setImmediate(r));
  }
  const seconds = (performance.now() - t0) / 1000;
  if (cmd.drainMs !== undefined) await new Promise((r) => setTimeout(r, cmd.drainMs));
  await net.stop();
  return {
    sent,
    seconds,
    identities,
    ok: 0,
    error: 0,
    limited: 0,
    none: 0,
    answeredBytes: 0,
    peerIds,
    delivered,
  };
}

function varint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

async function requests(cmd: RequestFlood): Promise<FloodResult> {
  const libp2p = await createLibp2p({
    privateKey: await generateKeyPair("Ed25519"),
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
  const payload = Uint8Array.from(cmd.payload);
  const frame = new Uint8Array([...varint(payload.length), ...payload]);
  const r: FloodResult = {
    sent: 0,
    seconds: 0,
    identities: 1,
    ok: 0,
    error: 0,
    limited: 0,
    none: 0,
    answeredBytes: 0,
  };
  const connection = await libp2p.dial(multiaddr(cmd.addr));
  const t0 = performance.now();
  const worker = async () => {
    while (performance.now() - t0 < cmd.seconds * 1000) {
      r.sent++;
      try {
        const stream = await connection.newStream(cmd.protocol, {
          negotiateFully: false,
          maxOutboundStreams: 1024,
        });
        const chunks: Uint8Array[] = [];
        const reading = (async () => {
          for await (const c of stream.source) chunks.push(c.subarray());
        })();
        await stream.sink([frame]);
        await reading;
        let size = 0;
        for (const c of chunks) size += c.length;
        const buf = new Uint8Array(size);
        let o = 0;
        for (const c of chunks) {
          buf.set(c, o);
          o += c.length;
        }
        let i = 0;
        while (i < buf.length && buf[i]! >= 0x80) i++;
        const status = buf[i + 1];
        if (status === 0) {
          r.ok++;
          r.answeredBytes += buf.length;
        } else if (status === 1) r.error++;
        else if (status === 2) r.limited++;
        else r.none++;
      } catch {
        r.none++;
      }
    }
  };
  await Promise.all(Array.from({ length: cmd.inFlight }, worker));
  r.seconds = (performance.now() - t0) / 1000;
  await libp2p.stop();
  return r;
}

/** A flood peer process: `run` one flood at a time, `stop` when done. */
export interface FloodPeer {
  run(cmd: GossipFlood | RequestFlood): Promise<FloodResult>;
  stop(): Promise<void>;
}

export async function startFloodPeer(): Promise<FloodPeer> {
  const child = fork(fileURLToPath(import.meta.url), ["--flood-peer"], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("message", () => resolve());
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`flood peer exited with ${code}`)));
  });
  return {
    run: (cmd) =>
      new Promise((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`flood peer exited with ${code}`));
        child.once("exit", onExit);
        child.once("message", (m: { result?: FloodResult; error?: string }) => {
          child.off("exit", onExit);
          if (m.error !== undefined) reject(new Error(m.error));
          else resolve(m.result!);
        });
        child.send(cmd);
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.send({ kind: "exit" });
      await exited;
    },
  };
}

if (process.argv.includes("--flood-peer") && process.send !== undefined) {
  process.on("message", (cmd: GossipFlood | RequestFlood | { kind: "exit" }) => {
    if (cmd.kind === "exit") {
      process.exit(0);
    }
    const run = cmd.kind === "gossip" ? gossip(cmd) : requests(cmd);
    run.then(
      (result) => process.send!({ result }),
      (err: unknown) =>
        process.send!({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  process.send({ ready: true });
}
