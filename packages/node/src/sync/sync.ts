import { setMaxListeners } from "node:events";
import { performance } from "node:perf_hooks";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import {
  type Block,
  BlockError,
  decodeBlock,
  equalBytes,
  headerHash,
  MAX_CLOCK_DISPARITY_MS,
  slotAt,
  toHex,
} from "@cardio/core";
import type { Chain } from "../chain/chain.js";
import { errorFields, type Logger, silentLogger } from "../logger.js";
import { type Network, ReqRespError, ReqRespErrorCode } from "../network/index.js";
import { createVerifierPool, type VerifierPool } from "../verify/verifierPool.js";
import {
  decodeBlockList,
  decodeHashesRequest,
  decodeRangeRequest,
  decodeStatus,
  encodeBlockList,
  encodeHashesRequest,
  encodeRangeRequest,
  encodeStatus,
  MAX_BLOCKS_PER_RANGE,
  MAX_HASHES_PER_REQUEST,
  MAX_RESPONSE_BYTES,
  type StatusMessage,
} from "./messages.js";

/** Protocol names (ids `/cardio/<chainId>/<name>/1`). */
export const SyncProtocol = {
  status: "status",
  blocksByRange: "blocks_by_range",
  blocksByHash: "blocks_by_hash",
} as const;

/** Orphan ancestor lookups in flight at once; more orphans wait for the next gossip or a range sync. */
const MAX_CONCURRENT_ORPHAN_LOOKUPS = 4;

/** Longest run of block imports without letting the event loop serve other work, in ms. */
const YIELD_EVERY_MS = 20;

/** How long a peer whose answer could not be judged yet is passed over, in ms (at most `badPeerMs`). */
const DEFER_PEER_MS = 10_000;

/**
 * A range answer goes to the verifier pool in jobs of at most this many blocks or (about) signatures:
 * importing starts once the first is done, and the main thread can take over a job still queued.
 */
const VERIFY_CHUNK_BLOCKS = 32;
const VERIFY_CHUNK_CHECKS = 128;

/** Share of the status interval by which each wait is varied either way, so nodes do not poll in step. */
const STATUS_JITTER = 0.2;

/** A block of a range answer: decoded, with the bytes it came as, its id and its signatures' verdict. */
interface FetchedBlock {
  block: Block;
  bytes: Uint8Array;
  hash: Uint8Array;
  /** The pool's verdicts on the block's chunk: `chunk[index]` true when every signature verified. */
  chunk: Promise<boolean[]>;
  index: number;
}

/** Sync progress, while a range sync runs. */
export interface SyncProgress {
  done: number;
  target: number;
  blocksPerSecond: number;
  etaSeconds: number;
}

/** Options of `createSync`. */
export interface SyncOptions {
  chain: Chain;
  network: Network;
  logger?: Logger;
  /** Wall clock (default `Date.now`). */
  now?: () => number;
  /**
   * How often peers' status is polled while catching up, in ms (default 2000): while some peer is more
   * than one block ahead, or a connected peer has not told its status yet. A new connection is always
   * polled at once.
   */
  statusIntervalMs?: number;
  /**
   * How often peers' status is polled once in step with them, in ms (default 5 × `statusIntervalMs`,
   * so 10 s): gossip brings the blocks then, and each poll is a stream to every peer. Each wait (either
   * interval) is varied by ±20 % at random so that nodes do not poll in step.
   */
  inStepStatusIntervalMs?: number;
  /** Blocks behind the best peer beyond which the node counts as syncing and stops forging (default 4). */
  farBehind?: number;
  /** Blocks per `blocks_by_range` request (default 256, the protocol's cap). */
  batchSize?: number;
  /** Ancestors fetched one by one for an orphan before falling back to range sync (default 32). */
  maxOrphanDepth?: number;
  /** Timeout of each request, in ms (default 5000). */
  requestTimeoutMs?: number;
  /** How long a peer that served invalid data is shunned, in ms (default 60 000). */
  badPeerMs?: number;
  /**
   * Worker threads verifying the signatures of range-synced blocks while the previous blocks are
   * imported (default: the available cores minus one, from 1 to 4; 0: on the main thread). Gossiped
   * and orphan-resolved blocks are always verified on the main thread.
   */
  verifyThreads?: number;
  /** Called with each progress update and when a sync ends (undefined). */
  onProgress?: (p: SyncProgress | undefined) => void;
}

/**
 * Catching up: answers and asks `status`, `blocks_by_range` and `blocks_by_hash`. A node that learns
 * a peer is ahead fetches the missing range in batches (walking back to the common ancestor when a
 * batch does not attach) and imports it; a gossiped block with an unknown parent has its ancestors
 * fetched by hash. A peer serving invalid blocks, malformed answers or nothing at all is shunned
 * for a while and another is asked.
 */
export class Sync {
  private readonly chain: Chain;
  private readonly net: Network;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly peers = new Map<string, StatusMessage & { at: number }>();
  private readonly bad = new Map<string, number>();
  /** Range requests to a peer that timed out in a row (reset by an answer): each doubles its deferral. */
  private readonly timeouts = new Map<string, number>();
  private readonly verifier: VerifierPool;
  /** True while the status timer runs at the in-step interval. */
  private slowPolling = false;
  /** Peers whose last answer could not be judged yet (e.g. a block from our future): skipped a while. */
  private readonly deferred = new Map<string, number>();
  /** Aborted on stop, so a request in flight does not hold `stop()` for its whole timeout. */
  private lifetime = new AbortController();
  private readonly resolving = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private progress: SyncProgress | undefined;
  /** When the last progress line was logged. */
  private lastLog = 0;
  private stopped = true;
  private readonly onConnect = (peer: string) => void this.pollPeer(peer);
  private readonly onDisconnect = (peer: string) => {
    this.peers.delete(peer);
    this.timeouts.delete(peer);
  };

  constructor(private readonly opts: SyncOptions) {
    this.chain = opts.chain;
    this.net = opts.network;
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.verifier = createVerifierPool({
      ...(opts.verifyThreads === undefined ? {} : { size: opts.verifyThreads }),
      logger: this.log,
    });
    this.net.handle(SyncProtocol.status, (payload, ctx) => this.serveStatus(payload, ctx.peerId));
    this.net.handle(SyncProtocol.blocksByRange, (payload) => this.serveRange(payload));
    this.net.handle(SyncProtocol.blocksByHash, (payload) => this.serveHashes(payload));
  }

  /** Starts polling peers; call after the network started. */
  start(): void {
    this.stopped = false;
    this.lifetime = new AbortController();
    // Every request in flight listens on it; dozens at once are normal, not a leak.
    setMaxListeners(0, this.lifetime.signal);
    this.net.on("peer:connect", this.onConnect);
    this.net.on("peer:disconnect", this.onDisconnect);
    this.verifier.start();
    for (const p of this.net.peers()) void this.pollPeer(p);
    this.schedulePoll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.lifetime.abort(new Error("sync stopped"));
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.net.off("peer:connect", this.onConnect);
    this.net.off("peer:disconnect", this.onDisconnect);
    // Verifications in flight resolve as "not verified", which the stopped import loop never uses.
    await this.verifier.stop();
    await this.running?.catch(() => undefined);
  }

  /**
   * True while catching up: a peer is more than one block ahead of our head, or a connected peer (not
   * shunned) has not told us its status yet.
   */
  private catchingUp(): boolean {
    const ours = this.chain.head().height;
    for (const p of this.net.peers()) {
      if (this.isBad(p)) continue;
      const s = this.peers.get(p);
      if (s === undefined || s.height > ours + 1) return true;
    }
    return false;
  }

  /** Sets the status timer: every `statusIntervalMs` while catching up, less often in step (±20 %). */
  private schedulePoll(): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const fast = this.opts.statusIntervalMs ?? 2000;
    this.slowPolling = !this.catchingUp();
    const interval = this.slowPolling ? (this.opts.inStepStatusIntervalMs ?? 5 * fast) : fast;
    const delay = interval * (1 - STATUS_JITTER + 2 * STATUS_JITTER * Math.random());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopped) return;
      for (const p of this.net.peers()) void this.pollPeer(p);
      this.schedulePoll();
    }, delay);
  }

  /** True while far behind the best peer (the node does not forge then). */
  isSyncing(): boolean {
    const best = this.bestPeer();
    if (best === undefined) return false;
    return best.height - this.chain.head().height > (this.opts.farBehind ?? 4);
  }

  /** Progress of the running range sync, if any. */
  getProgress(): SyncProgress | undefined {
    return this.progress;
  }

  /** Best known height among peers (ours if none is ahead). */
  targetHeight(): number {
    return Math.max(this.chain.head().height, this.bestPeer()?.height ?? 0);
  }

  private ourStatus(): StatusMessage {
    const head = this.chain.head();
    return { genesisHash: this.chain.genesisHash, headHash: head.hash, height: head.height, slot: head.slot };
  }

  private isBad(peer: string): boolean {
    const until = this.bad.get(peer);
    if (until === undefined) return false;
    if (until < this.now()) {
      this.bad.delete(peer);
      return false;
    }
    return true;
  }

  private isDeferred(peer: string): boolean {
    const until = this.deferred.get(peer);
    if (until === undefined) return false;
    if (until < this.now()) {
      this.deferred.delete(peer);
      return false;
    }
    return true;
  }

  /**
   * The peer's answer could not be used but does not prove it dishonest (a block from a slot our
   * clock has not reached, a fork deeper than we keep): ask others first for a while. Not doing so
   * would stall sync, since the peer claiming the greatest height is always asked first.
   */
  private defer(peer: string, reason: string): void {
    this.log.info({ peer, reason }, "sync answer unusable for now; trying other peers");
    this.deferred.set(peer, this.now() + Math.min(this.opts.badPeerMs ?? 60_000, DEFER_PEER_MS));
  }

  /**
   * A range request to the peer timed out: maybe an overloaded host rather than a liar, so it is passed
   * over for a while (like `defer`), not shunned; each further timeout in a row doubles the wait, up to
   * `badPeerMs`.
   */
  private deferSlow(peer: string, reason: string, what: "timed out" | "failed" = "timed out"): void {
    const n = (this.timeouts.get(peer) ?? 0) + 1;
    this.timeouts.set(peer, n);
    const ms = Math.min(this.opts.badPeerMs ?? 60_000, DEFER_PEER_MS * 2 ** Math.min(n - 1, 10));
    this.log.info(
      { peer, reason, timeoutsInARow: n, passedOverMs: ms },
      `sync request to peer ${what}; trying other peers`,
    );
    this.deferred.set(peer, this.now() + ms);
  }

  private penalise(peer: string, reason: string): void {
    this.log.warn({ peer, reason }, "peer served bad sync data; shunning it");
    this.bad.set(peer, this.now() + (this.opts.badPeerMs ?? 60_000));
    this.peers.delete(peer);
  }

  private bestPeer(): ({ peer: string } & StatusMessage) | undefined {
    let best: ({ peer: string } & StatusMessage) | undefined;
    for (const [peer, s] of this.peers) {
      if (this.isBad(peer) || this.isDeferred(peer)) continue;
      if (best === undefined || s.height > best.height) best = { peer, ...s };
    }
    return best;
  }

  // ---- serving ----

  private serveStatus(payload: Uint8Array, peer: string): Uint8Array {
    try {
      this.recordStatus(peer, decodeStatus(payload));
    } catch {
      // A peer that sends a bad status still gets ours; it just learns nothing from us about itself.
    }
    return encodeStatus(this.ourStatus());
  }

  private async serveRange(payload: Uint8Array): Promise<Uint8Array> {
    const req = decodeRangeRequest(payload);
    const head = this.chain.head().height;
    const count = Math.min(req.count, head - req.start + 1);
    // The stored bytes go out as they are; 4 bytes of count and 4 of length per block frame them.
    const blocks = await this.chain.canonicalRangeBytes(req.start, count, MAX_RESPONSE_BYTES - 4 - 4 * count);
    return encodeBlockList(blocks);
  }

  private async serveHashes(payload: Uint8Array): Promise<Uint8Array> {
    const hashes = decodeHashesRequest(payload);
    const out: Uint8Array[] = [];
    let size = 4;
    for (const h of hashes) {
      const bytes = await this.chain.blockBytesByHash(h);
      if (bytes === undefined) continue;
      if (size + 4 + bytes.length > MAX_RESPONSE_BYTES && out.length > 0) break;
      size += 4 + bytes.length;
      out.push(bytes);
    }
    return encodeBlockList(out);
  }

  // ---- asking ----

  private recordStatus(peer: string, s: StatusMessage): void {
    if (!equalBytes(s.genesisHash, this.chain.genesisHash)) {
      this.log.warn(
        {
          peer,
          theirGenesis: toHex(s.genesisHash).slice(0, 16),
          ourGenesis: toHex(this.chain.genesisHash).slice(0, 16),
        },
        "peer is on another genesis; disconnecting",
      );
      this.peers.delete(peer);
      this.bad.set(peer, this.now() + 10 * 60_000);
      // Later, not now: when this came in a request, the peer should still get our status answer.
      setTimeout(() => void this.net.hangUp(peer).catch(() => undefined), 1000).unref();
      return;
    }
    // Every block is in a later slot than its parent, so no honest chain is higher than the slot.
    // Before genesis slotAt is -1, and genesis (height 0, slot 0) is what everyone has.
    const maxHeight = Math.max(0, slotAt(this.chain.config, this.now() + MAX_CLOCK_DISPARITY_MS));
    if (s.height > maxHeight || s.slot > maxHeight) {
      this.log.warn(
        { peer, height: s.height, slot: s.slot, maxHeight },
        "peer claims a chain the clock does not allow",
      );
      this.peers.delete(peer);
      this.bad.set(peer, this.now() + (this.opts.badPeerMs ?? 60_000));
      return;
    }
    this.peers.set(peer, { ...s, at: this.now() });
    const ours = this.chain.head().height;
    // Polling slowly while a peer turned out to be ahead: back to the catching-up rate at once.
    if (this.slowPolling && s.height > ours + 1 && !this.stopped) this.schedulePoll();
    if (s.height > ours) this.kick();
  }

  private async pollPeer(peer: string): Promise<void> {
    if (this.stopped || this.isBad(peer)) return;
    try {
      const resp = await this.net.request(peer, SyncProtocol.status, encodeStatus(this.ourStatus()), {
        timeoutMs: this.opts.requestTimeoutMs ?? 5000,
        signal: this.lifetime.signal,
      });
      this.recordStatus(peer, decodeStatus(resp));
    } catch (err) {
      this.log.debug({ peer, ...errorFields(err) }, "status request failed");
    }
  }

  /** Starts a range sync unless one is running. */
  private kick(): void {
    if (this.running !== undefined || this.stopped) return;
    this.running = this.rangeSync()
      .catch((err: unknown) => this.log.warn(errorFields(err), "sync failed"))
      .finally(() => {
        this.running = undefined;
        this.progress = undefined;
        this.opts.onProgress?.(undefined);
        // A status that arrived as the loop was ending found it still running and did not start
        // another: check once more rather than wait for the next poll.
        if (!this.stopped && (this.bestPeer()?.height ?? -1) > this.chain.head().height) this.kick();
      });
  }

  /**
   * One `blocks_by_range` request: the blocks decoded, each with the bytes it came as and its id,
   * checked to be the asked heights and one chain. Anything else throws (and the peer is penalised).
   */
  private async fetchRange(peer: string, start: number, count: number): Promise<FetchedBlock[]> {
    const resp = await this.net.request(
      peer,
      SyncProtocol.blocksByRange,
      encodeRangeRequest({ start, count }),
      { timeoutMs: this.opts.requestTimeoutMs ?? 5000, signal: this.lifetime.signal },
    );
    const list = decodeBlockList(resp, Math.min(count, MAX_BLOCKS_PER_RANGE));
    const out: FetchedBlock[] = [];
    for (let i = 0; i < list.length; i++) {
      const bytes = list[i]!;
      const block = decodeBlock(bytes, this.chain.config.maxBlockBytes);
      const h = block.header.height;
      if (h !== start + i)
        throw new Error(`range answer has height ${h} at position ${i} (asked from ${start})`);
      if (i > 0 && !equalBytes(block.header.parentHash, out[i - 1]!.hash)) {
        throw new Error(`range answer is not a chain at height ${h}`);
      }
      out.push({ block, bytes, hash: headerHash(block.header), chunk: NOT_VERIFIED, index: 0 });
    }
    this.timeouts.delete(peer);
    // Signatures go to the pool now, in chunks of about the same work, while earlier blocks are imported.
    for (let i = 0; i < out.length; ) {
      let end = i;
      let checks = 0;
      while (end < out.length && end - i < VERIFY_CHUNK_BLOCKS && checks < VERIFY_CHUNK_CHECKS) {
        checks += 1 + out[end]!.block.txs.length;
        end++;
      }
      const part = out.slice(i, end);
      const chunk = this.verifier.verifyBlocks(
        part.map((f) => f.block),
        this.chain.config.chainId,
      );
      part.forEach((f, j) => {
        f.chunk = chunk;
        f.index = j;
      });
      i = end;
    }
    return out;
  }

  /** Starts fetching a batch now; its failure is seen when (if) it is awaited, never unhandled. */
  private prefetch(peer: string, start: number, count: number): Promise<FetchedBlock[]> {
    const p = this.fetchRange(peer, start, count);
    p.catch(() => undefined);
    return p;
  }

  private async rangeSync(): Promise<void> {
    const startedAt = this.now();
    const startHeight = this.chain.head().height;
    const batchSize = Math.min(this.opts.batchSize ?? MAX_BLOCKS_PER_RANGE, MAX_BLOCKS_PER_RANGE);
    this.lastLog = 0;
    for (;;) {
      if (this.stopped) return;
      const best = this.bestPeer();
      const ours = this.chain.head().height;
      if (best === undefined || best.height <= ours) return;
      const peer = best.peer;
      let start = ours + 1;
      let back = 1;
      /** The next batch, asked for while the current one is imported. */
      let next: { start: number; blocks: Promise<FetchedBlock[]> } | undefined;
      try {
        for (;;) {
          if (this.stopped) return;
          const count = Math.min(batchSize, best.height - start + 1);
          if (count <= 0) break;
          const blocks = await (next?.start === start ? next.blocks : this.fetchRange(peer, start, count));
          next = undefined;
          if (blocks.length === 0) {
            // Heights never go down, so an honest peer has every height up to the one it claimed.
            throw new Error(`no blocks from ${start} below its claimed height ${best.height}`);
          }
          if (!this.chain.knows(blocks[0]!.block.header.parentHash)) {
            if (start <= 1) throw new Error("peer's chain does not attach to our genesis");
            // A fork below our head: walk back, doubling, to the common ancestor.
            start = Math.max(1, start - back);
            back *= 2;
            continue;
          }
          const after = blocks.at(-1)!.block.header.height + 1;
          if (after <= best.height) {
            next = {
              start: after,
              blocks: this.prefetch(peer, after, Math.min(batchSize, best.height - after + 1)),
            };
          }
          let slice = performance.now();
          for (const { block, bytes, hash, chunk, index } of blocks) {
            // A chunk no worker has started yet is verified here: better than waiting for it.
            this.verifier.expedite(chunk);
            // A block whose signatures the pool did not find valid is imported without the flag: the
            // chain verifies it and refuses it with the usual error (and the peer is penalised below).
            const signaturesVerified = (await chunk)[index] === true;
            if (this.stopped) return;
            const r = await this.chain.importBlock(block, "sync", undefined, {
              bytes,
              hash,
              signaturesVerified,
            });
            if (r.status === "orphan") throw new Error("range block became an orphan");
            // With an in-memory store an import never waits for I/O, so a batch would hold the event
            // loop for its whole length: no gossip, no slot ticks, and the prefetched answer would sit
            // unread until its request timed out. Let other work in every few milliseconds.
            if (performance.now() - slice > YIELD_EVERY_MS) {
              await yieldToEventLoop();
              if (this.stopped) return;
              slice = performance.now();
            }
          }
          start = after;
          this.reportProgress(startedAt, startHeight, best.height, peer, start > best.height);
          if (start > best.height) break;
        }
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof BlockError && err.verdict === "ignore") {
          // E.g. the peer is ahead of our clock: maybe not its fault, but another peer may serve us.
          this.defer(peer, `${err.code}: ${err.message}`);
          continue;
        }
        if (err instanceof ReqRespError && isTransportFailure(err)) {
          // Slow or gone is not lying: an overloaded host answers late, a restarting or reconnecting
          // peer has no stream to give. Ask others for a while instead of shunning it for a minute.
          this.deferSlow(peer, err.message, err.code === ReqRespErrorCode.TIMEOUT ? "timed out" : "failed");
          continue;
        }
        this.penalise(peer, err instanceof Error ? err.message : String(err));
      }
    }
  }

  private reportProgress(
    startedAt: number,
    startHeight: number,
    target: number,
    peer: string,
    last: boolean,
  ): void {
    const height = this.chain.head().height;
    const done = height - startHeight;
    const elapsed = Math.max(1, this.now() - startedAt) / 1000;
    const rate = done / elapsed;
    this.progress = {
      done: Math.max(0, done),
      target: target - startHeight,
      blocksPerSecond: rate,
      etaSeconds: rate > 0 ? Math.max(0, (target - height) / rate) : Number.POSITIVE_INFINITY,
    };
    this.opts.onProgress?.(this.progress);
    if (this.now() - this.lastLog > 1000 || last) {
      this.lastLog = this.now();
      this.log.info(
        {
          done: this.progress.done,
          total: this.progress.target,
          blocksPerSecond: Math.round(rate),
          etaSeconds: Number.isFinite(this.progress.etaSeconds) ? Math.round(this.progress.etaSeconds) : null,
          peer,
        },
        `syncing: ${this.progress.done}/${this.progress.target} blocks, ${Math.round(rate)} blocks/s`,
      );
    }
  }

  /**
   * A gossiped block's parent is unknown: fetch its ancestors by hash from the relayer (then any
   * peer), up to `maxOrphanDepth`, importing them; beyond that, fall back to range sync.
   */
  async resolveOrphan(block: Block, fromPeer: string): Promise<void> {
    if (this.stopped) return;
    const maxDepth = this.opts.maxOrphanDepth ?? 32;
    // A range sync under way will import the parents (and the orphan pool hands it this block).
    if (this.running !== undefined) return;
    let missing = block.header.parentHash;
    const key = toHex(missing);
    // Bounded: a peer sending many orphans must not get one lookup per orphan.
    if (this.resolving.has(key) || this.resolving.size >= MAX_CONCURRENT_ORPHAN_LOOKUPS) return;
    this.resolving.add(key);
    try {
      if (block.header.height - this.chain.head().height > maxDepth) {
        // Too far behind for one-by-one fetching: learn the relayer's head and range-sync to it.
        await this.pollPeer(fromPeer);
        this.kick();
        return;
      }
      for (let depth = 0; depth < maxDepth && !this.stopped && this.running === undefined; depth++) {
        if (this.chain.knows(missing)) return;
        const fetched = await this.fetchByHash(missing, fromPeer);
        if (fetched === undefined) return;
        const r = await this.chain.importBlock(fetched, "sync");
        if (r.status !== "orphan") return;
        missing = fetched.header.parentHash;
      }
      // Too far behind for one-by-one fetching: learn the relayer's head and range-sync to it.
      await this.pollPeer(fromPeer);
      this.kick();
    } catch (err) {
      this.log.debug({ peer: fromPeer, ...errorFields(err) }, "orphan resolution failed");
    } finally {
      this.resolving.delete(key);
    }
  }

  private async fetchByHash(hash: Uint8Array, preferred: string): Promise<Block | undefined> {
    const candidates = [preferred, ...this.net.peers().filter((p) => p !== preferred)].filter(
      (p) => !this.isBad(p),
    );
    for (const peer of candidates.slice(0, 4)) {
      try {
        const resp = await this.net.request(peer, SyncProtocol.blocksByHash, encodeHashesRequest([hash]), {
          timeoutMs: this.opts.requestTimeoutMs ?? 5000,
          signal: this.lifetime.signal,
        });
        const list = decodeBlockList(resp, MAX_HASHES_PER_REQUEST);
        if (list.length === 0) continue;
        const block = decodeBlock(list[0]!, this.chain.config.maxBlockBytes);
        if (!equalBytes(headerHash(block.header), hash)) {
          this.penalise(peer, "blocks_by_hash answered with another block");
          continue;
        }
        return block;
      } catch (err) {
        this.log.debug({ peer, ...errorFields(err) }, "blocks_by_hash failed");
      }
    }
    return undefined;
  }
}

/**
 * Failures of the request itself rather than of what the peer said: a timeout, no connection, no
 * stream (the connection was closing, e.g. the peer restarted or was hung up), our own abort, or the
 * peer's rate limit. A stream that breaks mid-answer is not among them: that is what a peer serving
 * truncated answers looks like.
 */
function isTransportFailure(err: ReqRespError): boolean {
  switch (err.code) {
    case ReqRespErrorCode.TIMEOUT:
    case ReqRespErrorCode.DIAL_FAILED:
    case ReqRespErrorCode.ABORTED:
    case ReqRespErrorCode.RATE_LIMITED:
      return true;
    case ReqRespErrorCode.STREAM_ERROR:
      return err.message.startsWith("cannot open stream");
    default:
      return false;
  }
}

/** The verdicts of blocks not (yet) sent to the pool: none, so each is verified on import. */
const NOT_VERIFIED: Promise<boolean[]> = Promise.resolve([]);

/** Creates the sync service and registers its protocol handlers on the network. */
export function createSync(opts: SyncOptions): Sync {
  return new Sync(opts);
}
