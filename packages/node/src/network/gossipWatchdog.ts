import { errorFields, type Logger, noopLogger } from "./logger.js";

/** Options of the gossip watchdog (`NetworkOptions.watchdog`). */
export interface GossipWatchdogOptions {
  /** How often every connected peer is checked, in ms. Default 2 000. */
  intervalMs?: number;
  /**
   * A peer whose youngest connection is younger than this is not checked for dead gossip, in ms:
   * gossipsub adds a peer and opens its streams only after identify. Default 5 000.
   */
  graceMs?: number;
  /**
   * Consecutive checks a peer must fail before it is hung up. Default 2, so a stream being replaced
   * or a behaviour penalty that decays within a second (gossipsub's P7 decays ×0.2 a second) does
   * not cost a connection.
   */
  strikes?: number;
  /** Hang up peers whose gossipsub score is below the graylist threshold. Default `true`. */
  disconnectGraylisted?: boolean;
  /**
   * How long a peer hung up for being graylisted is refused (dials and inbound connections), in ms;
   * 0 hangs up without refusing. Default 60 000: by then an invalid-message penalty of three
   * messages has decayed (1 % a second, see `gossipScore.ts`) to about −54, above the graylist
   * threshold, while one more invalid message graylists the peer again.
   */
  graylistBanMs?: number;
  /**
   * How long a peer that relayed more dropped (IGNOREd or REJECTed) gossip than a topic's budget
   * allows is refused, in ms. Default 60 000, as for graylisted peers.
   */
  dropFloodBanMs?: number;
}

/** Why the watchdog hung up a peer: the `reason` label of its metric. */
export type HangUpReason = "gossip_dead" | "graylisted" | "drop_flood";

/** One connected peer, as the watchdog sees it. */
export interface WatchedPeer {
  peerId: string;
  /** Age of the peer's youngest open connection, in ms. */
  connectedForMs: number;
}

/** What the watchdog needs from the network. */
export interface GossipWatchdogHost {
  /** Connected peers. */
  peers(): WatchedPeer[];
  /** Why gossip with the peer cannot flow (e.g. gossipsub dropped it), or `undefined` when it can. */
  gossipProblem(peerId: string): string | undefined;
  /** Whether the peer speaks gossipsub at all (identify told us); peers that do not are left alone. */
  speaksGossip(peerId: string): Promise<boolean>;
  /** Our gossipsub score of the peer. */
  score(peerId: string): number;
  /** Closes every connection to the peer. */
  hangUp(peerId: string): Promise<void>;
  /**
   * Called after a dead-gossip hang-up: reconnect unless the peer keeper will. (Both ends may notice
   * the dead gossip and hang up; the one that does cannot know whether the other end redials.)
   */
  reconnect(peerId: string): void;
}

/** Options of {@link createGossipWatchdog}. */
export interface GossipWatchdogConfig extends GossipWatchdogOptions {
  /** gossipsub's graylist threshold: scores below it are graylisted. */
  graylistThreshold: number;
  /** Counts each hang-up (the network's metric). */
  onHangUp?: (reason: HangUpReason) => void;
  /** Clock in ms; injectable for tests. Default `Date.now`. */
  now?: () => number;
  logger?: Logger;
}

/** Hangs up peers gossip no longer flows with, and graylisted peers. */
export interface GossipWatchdog {
  /** True while a graylisted peer is refused (the network adds this to its `denyPeer`). */
  isBanned(peerId: string): boolean;
  /**
   * Refuses `peerId` for the ban time of `reason` from now on and hangs it up (resolves once hung up,
   * never rejects). For misbehaviour found outside the watchdog's scan, e.g. a peer flooding dropped gossip.
   */
  ban(peerId: string, reason: "drop_flood"): Promise<void>;
  /** Checks every connected peer once; the timer calls it, tests may too. */
  check(): Promise<void>;
  start(host: GossipWatchdogHost): void;
  stop(): void;
}

/**
 * Creates the gossip watchdog. It has two duties, both on the same periodic scan of connected peers:
 *
 * 1. **Dead gossip.** `@chainsafe/libp2p-gossipsub` 14 treats an error on a peer's gossip stream as a
 *    disconnection (`handlePeerReadStreamError` → `removePeer`) and adds the peer back only on a new
 *    connection, while the libp2p connection survives — e.g. after a partition that dropped packets
 *    without closing connections. The two nodes then stay connected and exchange no gossip at all,
 *    for good. A peer connected for more than `graceMs` with which gossip cannot flow (gossipsub no
 *    longer lists it, or it lacks a live stream in either direction) for `strikes` checks in a row is
 *    hung up: the peer keeper (or the peer's own) redials, and gossipsub opens fresh streams on the
 *    new connection. A peer the keeper does not keep is redialled once (`host.reconnect`).
 * 2. **Graylisted peers.** gossipsub ignores everything a peer below the graylist threshold sends, but
 *    keeps the connection (and its req/resp) open. Such a peer, still graylisted at `strikes` checks
 *    in a row, is hung up and refused for `graylistBanMs`.
 */
export function createGossipWatchdog(config: GossipWatchdogConfig): GossipWatchdog {
  const intervalMs = config.intervalMs ?? 2_000;
  const graceMs = config.graceMs ?? 5_000;
  const strikesNeeded = config.strikes ?? 2;
  const disconnectGraylisted = config.disconnectGraylisted ?? true;
  const graylistBanMs = config.graylistBanMs ?? 60_000;
  const dropFloodBanMs = config.dropFloodBanMs ?? 60_000;
  const now = config.now ?? Date.now;
  const logger = config.logger ?? noopLogger;
  if (!(intervalMs > 0) || !(graceMs >= 0) || !(Number.isInteger(strikesNeeded) && strikesNeeded >= 1)) {
    throw new RangeError(
      "gossip watchdog needs intervalMs > 0, graceMs >= 0 and strikes a whole number >= 1",
    );
  }
  if (!(graylistBanMs >= 0) || !(dropFloodBanMs >= 0)) {
    throw new RangeError("gossip watchdog needs graylistBanMs >= 0 and dropFloodBanMs >= 0");
  }

  /** Consecutive failed checks per peer and duty. */
  const deadStrikes = new Map<string, number>();
  const grayStrikes = new Map<string, number>();
  /** Refused peers: peer id → until when (ms). */
  const bans = new Map<string, number>();
  let host: GossipWatchdogHost | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  function strike(strikes: Map<string, number>, peerId: string): boolean {
    const count = (strikes.get(peerId) ?? 0) + 1;
    if (count < strikesNeeded) {
      strikes.set(peerId, count);
      return false;
    }
    strikes.delete(peerId);
    return true;
  }

  function hangUp(current: GossipWatchdogHost, peerId: string, reason: HangUpReason): Promise<void> {
    config.onHangUp?.(reason);
    return current.hangUp(peerId).catch((err: unknown) => {
      logger.warn({ peer: peerId, reason, ...errorFields(err) }, "watchdog hang-up failed");
    });
  }

  async function checkPeer(current: GossipWatchdogHost, peer: WatchedPeer): Promise<void> {
    const { peerId } = peer;
    if (disconnectGraylisted) {
      const score = current.score(peerId);
      if (score < config.graylistThreshold) {
        if (strike(grayStrikes, peerId)) {
          deadStrikes.delete(peerId);
          if (graylistBanMs > 0) bans.set(peerId, now() + graylistBanMs);
          logger.info(
            { peer: peerId, score, threshold: config.graylistThreshold, bannedForMs: graylistBanMs },
            "hanging up a graylisted peer",
          );
          await hangUp(current, peerId, "graylisted");
        }
        return;
      }
      grayStrikes.delete(peerId);
    }
    if (peer.connectedForMs < graceMs) {
      deadStrikes.delete(peerId);
      return;
    }
    const problem = current.gossipProblem(peerId);
    if (problem === undefined || !(await current.speaksGossip(peerId))) {
      deadStrikes.delete(peerId);
      return;
    }
    if (!strike(deadStrikes, peerId)) return;
    // Checked again: the peer may have been re-added while we asked the peer store.
    if (current.gossipProblem(peerId) === undefined) return;
    logger.info(
      { peer: peerId, problem, connectedForMs: peer.connectedForMs },
      "gossip with a connected peer is dead; hanging up so it reconnects",
    );
    await hangUp(current, peerId, "gossip_dead");
    if (host === current) current.reconnect(peerId);
  }

  async function checkAll(): Promise<void> {
    const current = host;
    if (current === undefined) return;
    const at = now();
    for (const [peerId, until] of bans) if (until <= at) bans.delete(peerId);
    const peers = current.peers();
    const connected = new Set(peers.map((p) => p.peerId));
    for (const strikes of [deadStrikes, grayStrikes]) {
      for (const peerId of strikes.keys()) if (!connected.has(peerId)) strikes.delete(peerId);
    }
    for (const peer of peers) {
      if (host !== current) return; // stopped meanwhile
      try {
        await checkPeer(current, peer);
      } catch (err) {
        logger.warn({ peer: peer.peerId, ...errorFields(err) }, "watchdog check failed");
      }
    }
  }

  function check(): Promise<void> {
    // One scan at a time: a slow peer store must not pile scans up.
    running ??= checkAll().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    isBanned(peerId) {
      const until = bans.get(peerId);
      if (until === undefined) return false;
      if (until > now()) return true;
      bans.delete(peerId);
      return false;
    },
    async ban(peerId, reason) {
      if (dropFloodBanMs > 0) bans.set(peerId, now() + dropFloodBanMs);
      const current = host;
      if (current === undefined) return;
      logger.info({ peer: peerId, reason, bannedForMs: dropFloodBanMs }, "hanging up a flooding peer");
      await hangUp(current, peerId, reason);
    },
    check,
    start(newHost) {
      host = newHost;
      timer = setInterval(() => {
        check().catch((err: unknown) => logger.warn({ ...errorFields(err) }, "watchdog scan failed"));
      }, intervalMs);
      timer.unref();
    },
    stop() {
      host = undefined;
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      deadStrikes.clear();
      grayStrikes.clear();
    },
  };
}
