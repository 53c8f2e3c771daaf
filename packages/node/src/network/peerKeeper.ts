import type { Multiaddr } from "@multiformats/multiaddr";
import { errorFields, type Logger, noopLogger } from "./logger.js";

/** Where a kept peer came from; it decides who dials. */
export type PeerSource = "bootstrap" | "mdns";

/** The part of libp2p the keeper drives. */
export interface PeerKeeperHost {
  /** Dials one of `addrs` (each ending in `/p2p/<id>`); rejects when none works. */
  dial(addrs: Multiaddr[]): Promise<unknown>;
  isConnected(peerId: string): boolean;
}

/** Options of {@link createPeerKeeper}. */
export interface PeerKeeperOptions {
  /** Our own peer id string; compared with others for the one-side-dials rule. */
  selfId: string;
  /** Refuses to dial peers this names (the network's `denyPeer`). Default: nobody. */
  isDenied?: (peerId: string) => boolean;
  /** How often disconnected peers are reconsidered, and the first retry delay, in ms. Default 2 000. */
  redialIntervalMs?: number;
  /** Cap of the per-peer exponential backoff between failed dials, in ms. Default 30 000. */
  maxBackoffMs?: number;
  /**
   * How long the higher peer id of an mDNS pair waits for the lower one to dial before dialling
   * itself, in ms. Default 1 500: well above a loopback or LAN dial (tens of ms), so both sides
   * dialling at once — two connections — needs the first dial to be that slow.
   */
  tieBreakDelayMs?: number;
  /** mDNS peers not re-announced for this long are forgotten, in ms. Default 60 000 (six mDNS rounds). */
  discoveredTtlMs?: number;
  /**
   * A connection that closes sooner than this after opening counts as a failed dial (backoff grows):
   * a peer that refuses us after the handshake (its gater, its connection limit) otherwise looks
   * like a successful dial every time. In ms. Default 1 000.
   */
  quickDropMs?: number;
  /** Clock in ms; injectable for tests. Default `Date.now`. */
  now?: () => number;
  /** Structured logger. Default: silent. */
  logger?: Logger;
}

/** Keeps the node connected to its bootstrap peers and to the peers mDNS reports. */
export interface PeerKeeper {
  /** Adds a peer to keep connected to; repeated calls refresh its addresses and last sighting. */
  want(peerId: string, addrs: Multiaddr[], source: PeerSource): void;
  /** Tells the keeper a peer connected or disconnected (libp2p's peer:connect / peer:disconnect). */
  connected(peerId: string): void;
  disconnected(peerId: string): void;
  /** Whether the peer is one the keeper redials (a bootstrap peer, or an mDNS peer still announced). */
  keeps(peerId: string): boolean;
  start(host: PeerKeeperHost): void;
  stop(): void;
}

interface Entry {
  peerId: string;
  addrs: Multiaddr[];
  source: PeerSource;
  lastSeen: number;
  /** Since when we have been waiting for a connection (for the tie-break). */
  waitingSince: number;
  /** When the current connection opened, if connected. */
  connectedAt: number | undefined;
  failures: number;
  nextAttemptAt: number;
  dialing: boolean;
}

/**
 * Creates the peer keeper. libp2p itself only dials what it is told to: `@libp2p/bootstrap` dials
 * its list once, and mDNS only reports peers. The keeper is the one place that dials them and
 * keeps retrying with backoff, logging failures instead of leaving rejections unhandled.
 *
 * Who dials: bootstrap peers are dialled at once (the remote may not know us). mDNS discovery is
 * symmetric, so only the lower peer id dials at once; the higher one dials only when still not
 * connected `tieBreakDelayMs` after it started waiting, which covers a lower side that never saw
 * us or whose dials fail. Connections are never closed to deduplicate: closing one under gossipsub's
 * streams would cost more than an occasional second connection.
 */
export function createPeerKeeper(options: PeerKeeperOptions): PeerKeeper {
  const { selfId } = options;
  const isDenied = options.isDenied ?? (() => false);
  const redialIntervalMs = options.redialIntervalMs ?? 2_000;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const tieBreakDelayMs = options.tieBreakDelayMs ?? 1_500;
  const discoveredTtlMs = options.discoveredTtlMs ?? 60_000;
  const quickDropMs = options.quickDropMs ?? 1_000;
  const now = options.now ?? Date.now;
  const logger = options.logger ?? noopLogger;
  const entries = new Map<string, Entry>();
  const timers = new Set<NodeJS.Timeout>();
  let host: PeerKeeperHost | undefined;
  let ticker: NodeJS.Timeout | undefined;

  function later(delayMs: number, fn: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, delayMs);
    timer.unref();
    timers.add(timer);
  }

  function consider(entry: Entry): void {
    const current = host;
    if (current === undefined || entry.dialing) return;
    const at = now();
    if (current.isConnected(entry.peerId)) {
      if (entry.connectedAt !== undefined && at - entry.connectedAt >= quickDropMs) entry.failures = 0;
      return;
    }
    if (entry.nextAttemptAt > at) return;
    if (entry.source === "mdns" && selfId > entry.peerId && at - entry.waitingSince < tieBreakDelayMs) return;
    let denied: boolean;
    try {
      denied = isDenied(entry.peerId);
    } catch {
      denied = true; // the gater logs this and refuses as well
    }
    if (denied) return;
    dial(current, entry);
  }

  function dial(current: PeerKeeperHost, entry: Entry): void {
    entry.dialing = true;
    current.dial(entry.addrs).then(
      () => {
        // Failures are only forgiven once the connection has lasted (see quickDropMs).
        entry.dialing = false;
        logger.debug({ peer: entry.peerId, source: entry.source }, "connected to kept peer");
      },
      (err: unknown) => {
        entry.dialing = false;
        const backoff = fail(entry);
        const level = entry.failures === 1 ? "info" : "debug";
        logger[level](
          {
            peer: entry.peerId,
            source: entry.source,
            failures: entry.failures,
            retryInMs: backoff,
            ...errorFields(err),
          },
          "dial failed; will retry",
        );
      },
    );
  }

  /** Records a failure and schedules the next attempt; returns the backoff in ms. */
  function fail(entry: Entry): number {
    entry.failures += 1;
    const backoff = Math.min(maxBackoffMs, redialIntervalMs * 2 ** (entry.failures - 1));
    entry.nextAttemptAt = now() + backoff;
    return backoff;
  }

  function tick(): void {
    const at = now();
    for (const entry of entries.values()) {
      if (entry.source === "mdns" && at - entry.lastSeen > discoveredTtlMs && !entry.dialing) {
        entries.delete(entry.peerId);
        continue;
      }
      consider(entry);
    }
  }

  return {
    want(peerId, addrs, source) {
      if (peerId === selfId || addrs.length === 0) return;
      const at = now();
      let entry = entries.get(peerId);
      if (entry === undefined) {
        entry = {
          peerId,
          addrs,
          source,
          lastSeen: at,
          waitingSince: at,
          connectedAt: undefined,
          failures: 0,
          nextAttemptAt: 0,
          dialing: false,
        };
        if (host?.isConnected(peerId)) entry.connectedAt = at;
        entries.set(peerId, entry);
      } else {
        entry.addrs = addrs;
        entry.lastSeen = at;
        // A configured bootstrap peer stays one even when mDNS also reports it.
        if (source === "bootstrap") entry.source = source;
      }
      consider(entry);
      if (entry.source === "mdns" && selfId > peerId && host !== undefined) {
        const waited = entry;
        later(Math.max(0, waited.waitingSince + tieBreakDelayMs - at), () => consider(waited));
      }
    },
    connected(peerId) {
      const entry = entries.get(peerId);
      if (entry !== undefined) entry.connectedAt = now();
    },
    disconnected(peerId) {
      const entry = entries.get(peerId);
      if (entry === undefined) return;
      const at = now();
      const lasted = entry.connectedAt === undefined ? 0 : at - entry.connectedAt;
      entry.connectedAt = undefined;
      entry.waitingSince = at;
      if (lasted < quickDropMs) {
        const backoff = fail(entry);
        logger.debug({ peer: peerId, lastedMs: lasted, retryInMs: backoff }, "kept peer dropped us quickly");
      } else {
        entry.failures = 0;
        entry.nextAttemptAt = 0;
      }
    },
    keeps: (peerId) => entries.has(peerId),
    start(newHost) {
      host = newHost;
      ticker = setInterval(tick, redialIntervalMs);
      ticker.unref();
      for (const entry of entries.values()) {
        entry.waitingSince = now();
        consider(entry);
      }
    },
    stop() {
      host = undefined;
      if (ticker !== undefined) clearInterval(ticker);
      ticker = undefined;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
