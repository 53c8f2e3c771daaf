// libp2p calls Promise.withResolvers, which Node 20 lacks: the polyfill goes before any libp2p import.
import "../../packages/node/src/network/polyfill.js";
import { randomBytes } from "node:crypto";
import { type Block, encodeBlock, type Hash, headerHash, toHex, UNSIGNED_HEADER_BYTES } from "@cardio/core";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { identify } from "@libp2p/identify";
import type { IncomingStreamData, Libp2p } from "@libp2p/interface";
import { tcp } from "@libp2p/tcp";
import { lpStream } from "it-length-prefixed-stream";
import { createLibp2p } from "libp2p";
import type { CardioNode } from "../../packages/node/src/index.js";
import { protocolId } from "../../packages/node/src/network/index.js";
import {
  decodeRangeRequest,
  encodeBlockList,
  encodeStatus,
  MAX_BLOCKS_PER_RANGE,
} from "../../packages/node/src/sync/messages.js";
import { waitFor } from "./waitFor.js";

// ---- metrics ------------------------------------------------------------------------------------

/** The value of a node's counter or gauge `name` with exactly `labels` (0 when never set). */
export async function metricValue(
  node: CardioNode,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = node.metrics.getSingleMetric(name);
  if (metric === undefined) throw new Error(`node has no metric ${name}`);
  const { values } = await metric.get();
  const want = Object.entries(labels);
  const hit = values.find(
    (v) => want.every(([k, val]) => v.labels[k] === val) && Object.keys(v.labels).length === want.length,
  );
  return hit?.value ?? 0;
}

/** `cardio_blocks_imported_total{source}` of a node. */
export function importedFrom(
  node: CardioNode,
  source: "gossip" | "local" | "sync" | "store",
): Promise<number> {
  return metricValue(node, "cardio_blocks_imported_total", { source });
}

// ---- logs ---------------------------------------------------------------------------------------

/** A node logger that keeps what it is given, to assert what a node noticed. */
export interface RecordingLogger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
  entries: Array<{ level: string; obj: Record<string, unknown>; msg: string }>;
  /** Entries whose message contains `text`. */
  find(text: string): Array<{ level: string; obj: Record<string, unknown>; msg: string }>;
}

export function recordingLogger(): RecordingLogger {
  const entries: RecordingLogger["entries"] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg?: string) => {
    entries.push({ level, obj, msg: msg ?? "" });
  };
  return {
    entries,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    find: (text) => entries.filter((e) => e.msg.includes(text)),
  };
}

// ---- chains ---------------------------------------------------------------------------------------

/** Canonical hash (hex) of a node at `height`, or undefined. */
export async function canonicalHashAt(node: CardioNode, height: number): Promise<string | undefined> {
  const b = await node.chain.canonicalBlockAt(height);
  return b === undefined ? undefined : toHex(b.hash);
}

/** Waits until every node reports the same head hash at the same moment; returns that head. */
export async function waitForSameHead(
  nodes: CardioNode[],
  timeoutMs = 15_000,
): Promise<{ height: number; hash: string }> {
  return waitFor(
    () => {
      const heads = nodes.map((n) => n.head());
      const first = heads[0]!;
      return heads.every((h) => h.hashHex === first.hashHex)
        ? { height: first.height, hash: first.hashHex }
        : undefined;
    },
    {
      timeoutMs,
      intervalMs: 10,
      what: () =>
        `one head on all nodes (now ${nodes.map((n) => `${n.head().height}:${n.head().hashHex.slice(0, 8)}`).join(", ")})`,
    },
  );
}

/**
 * Waits until every node's canonical chain is identical from height 1 up to one below the lowest
 * head (the tip may still be propagating); returns that height.
 */
export async function waitForIdenticalChains(nodes: CardioNode[], timeoutMs = 15_000): Promise<number> {
  let detail = "";
  return waitFor(
    async () => {
      const upTo = Math.min(...nodes.map((n) => n.head().height)) - 1;
      if (upTo < 1) return undefined;
      for (let h = upTo; h >= 1; h--) {
        const hashes = await Promise.all(nodes.map((n) => canonicalHashAt(n, h)));
        if (hashes.some((x) => x === undefined || x !== hashes[0])) {
          detail = `differ at height ${h}`;
          return undefined;
        }
      }
      return upTo;
    },
    { timeoutMs, intervalMs: 100, what: () => `identical canonical chains (${detail})` },
  );
}

/** Stops every node given and throws if one is still running. */
export async function stopAndAssert(nodes: Array<CardioNode | undefined>): Promise<void> {
  await Promise.all(nodes.map((n) => n?.stop()));
  for (const n of nodes) if (n?.isRunning()) throw new Error(`node ${n.peerId} did not stop`);
}

// ---- partitions -----------------------------------------------------------------------------------

/**
 * A network split shared by every node's `denyPeer`: while split, a node refuses connections with the
 * peers of other groups. Existing connections must be hung up separately (`CardioNode.hangUp`).
 */
export class Partition {
  private groupOf: Map<string, number> | undefined;

  /** Splits the network into `groups` (peer ids); peers in no group are refused by nobody. */
  split(groups: string[][]): void {
    const m = new Map<string, number>();
    groups.forEach((g, i) => {
      for (const p of g) m.set(p, i);
    });
    this.groupOf = m;
  }

  heal(): void {
    this.groupOf = undefined;
  }

  get isSplit(): boolean {
    return this.groupOf !== undefined;
  }

  /** True when `self` must refuse `peer` now. */
  denies(self: string, peer: string): boolean {
    const m = this.groupOf;
    if (m === undefined) return false;
    const a = m.get(self);
    const b = m.get(peer);
    return a !== undefined && b !== undefined && a !== b;
  }

  /** The `denyPeer` option of node `self`. */
  denyFor(self: string): (peer: string) => boolean {
    return (peer) => this.denies(self, peer);
  }
}

// ---- a misbehaving sync peer ------------------------------------------------------------------

/** How a bad peer answers `blocks_by_range`. */
export type BadBehaviour =
  /** The real blocks, with the signature of one block in each answer corrupted (a REJECT). */
  | "bad-signature"
  /** One block on a real parent whose slot is far in the future (an IGNORE, not provably invalid). */
  | "future-slot"
  /** Blocks that chain to each other but to no parent the requester knows. */
  | "unattached"
  /** A frame whose length prefix promises more bytes than follow before the stream closes. */
  | "truncated"
  /** A length prefix over the requester's 4 MiB frame limit. */
  | "oversized"
  /** A well-framed OK answer whose body is not a block list. */
  | "malformed"
  /** An OK answer with no blocks, while claiming a height far above. */
  | "empty"
  /** Reads the request and never answers. */
  | "silent";

export interface BadPeerOptions {
  chainId: string;
  genesisHash: Hash;
  behaviour: BadBehaviour;
  /** The honest chain, for behaviours that mix real blocks in (`node.chain.canonicalBlockAt`). */
  source: (height: number) => Promise<{ hash: Uint8Array; block: Block } | undefined>;
  /**
   * Height claimed in `status` answers, read at each answer. A node refuses a claim its clock rules out
   * (a height above the current slot), so the most a liar can plausibly claim is the current slot.
   */
  claimedHeight: () => number;
}

export interface BadPeer {
  readonly peerId: string;
  readonly multiaddr: string;
  /** `blocks_by_range` requests received. */
  readonly rangeRequests: number;
  /** `status` requests received. */
  readonly statusRequests: number;
  stop(): Promise<void>;
  isStopped(): boolean;
}

/** LEB128 varint, as it-length-prefixed-stream writes length prefixes. */
function varint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

function okFrame(body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(body.length + 1);
  frame.set(body, 1); // status byte 0 = OK
  return frame;
}

/**
 * A raw libp2p peer (its own key, the chain's protocol ids) that claims in `status` a higher chain
 * than anyone has and answers `blocks_by_range` according to `behaviour`. It speaks the request/
 * response framing itself, byte by byte, so it can also break the framing.
 */
export async function startBadPeer(opts: BadPeerOptions): Promise<BadPeer> {
  let rangeRequests = 0;
  let statusRequests = 0;
  const node: Libp2p = await createLibp2p({
    privateKey: await generateKeyPair("Ed25519"),
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
    connectionManager: { inboundConnectionThreshold: 100, maxIncomingPendingConnections: 100 },
  });

  async function serve(
    { stream }: IncomingStreamData,
    answer: (request: Uint8Array) => Promise<Uint8Array | "silent" | { prefix: number; data: Uint8Array }>,
  ): Promise<void> {
    // The length encoder is swapped per answer so that a frame can lie about its own length.
    let lie: number | undefined;
    const lp = lpStream(stream, {
      maxDataLength: 8 * 1024 * 1024,
      lengthEncoder: (n: number) => varint(lie ?? n),
    });
    try {
      const request = (await lp.read()).subarray();
      const a = await answer(request);
      if (a === "silent") return; // keep the stream open; the requester must time out
      if (a instanceof Uint8Array) {
        await lp.write(a);
      } else {
        lie = a.prefix;
        await lp.write(a.data);
      }
      await stream.close();
    } catch {
      stream.abort(new Error("bad peer stream failed"));
    }
  }

  const randomHash = () => new Uint8Array(randomBytes(32));

  async function rangeAnswer(request: Uint8Array) {
    rangeRequests++;
    const { start, count } = decodeRangeRequest(request);
    switch (opts.behaviour) {
      case "silent":
        return "silent" as const;
      case "empty":
        return okFrame(encodeBlockList([]));
      case "malformed":
        // Claims three blocks, carries one garbage entry.
        return okFrame(Uint8Array.from([0, 0, 0, 3, 0, 0, 0, 2, 0xde, 0xad]));
      case "truncated": {
        const body = okFrame(encodeBlockList([new Uint8Array(200)]));
        return { prefix: body.length + 1000, data: body };
      }
      case "oversized":
        return { prefix: 6 * 1024 * 1024, data: okFrame(new Uint8Array(64)) };
      case "future-slot": {
        const parent = await opts.source(start - 1);
        if (parent === undefined) return okFrame(encodeBlockList([]));
        const header = {
          height: start,
          slot: 1_000_000_000,
          parentHash: parent.hash,
          proposer: randomHash(),
          txRoot: randomHash(),
          stateRoot: randomHash(),
          signature: new Uint8Array(randomBytes(64)),
        };
        return okFrame(encodeBlockList([encodeBlock({ header, txs: [] })]));
      }
      case "unattached": {
        // Heights right, links between them right, first parent unknown to anyone.
        const blocks: Uint8Array[] = [];
        let parentHash: Uint8Array = randomHash();
        for (let i = 0; i < Math.min(count, 8); i++) {
          const header = {
            height: start + i,
            slot: start + i,
            parentHash,
            proposer: randomHash(),
            txRoot: randomHash(),
            stateRoot: randomHash(),
            signature: new Uint8Array(64),
          };
          parentHash = headerHash(header);
          blocks.push(encodeBlock({ header, txs: [] }));
        }
        return okFrame(encodeBlockList(blocks));
      }
      case "bad-signature": {
        const blocks: Uint8Array[] = [];
        for (let h = start; h < start + Math.min(count, MAX_BLOCKS_PER_RANGE); h++) {
          const b = await opts.source(h);
          if (b === undefined) break;
          blocks.push(encodeBlock(b.block));
        }
        // Corrupt the signature of the middle block: the ones before it are real and import.
        const victim = blocks[blocks.length >> 1];
        // The signature follows the unsigned header; the block id does not cover it, so links hold.
        const at = UNSIGNED_HEADER_BYTES + 10;
        if (victim !== undefined) victim[at] = (victim[at] ?? 0) ^ 0x01;
        return okFrame(encodeBlockList(blocks));
      }
    }
  }

  await node.handle(
    protocolId(opts.chainId, "status"),
    (data) =>
      void serve(data, async () => {
        statusRequests++;
        const height = opts.claimedHeight();
        return okFrame(
          encodeStatus({ genesisHash: opts.genesisHash, headHash: randomHash(), height, slot: height }),
        );
      }),
    { maxInboundStreams: 64 },
  );
  await node.handle(protocolId(opts.chainId, "blocks_by_range"), (data) => void serve(data, rangeAnswer), {
    maxInboundStreams: 64,
  });
  await node.handle(
    protocolId(opts.chainId, "blocks_by_hash"),
    (data) => void serve(data, async () => okFrame(encodeBlockList([]))),
    { maxInboundStreams: 64 },
  );
  await node.start();
  const addr = node.getMultiaddrs()[0];
  if (addr === undefined) throw new Error("bad peer has no listen address");
  return {
    peerId: node.peerId.toString(),
    multiaddr: addr.toString(),
    get rangeRequests() {
      return rangeRequests;
    },
    get statusRequests() {
      return statusRequests;
    },
    stop: async () => {
      await node.stop();
    },
    isStopped: () => node.status === "stopped",
  };
}
