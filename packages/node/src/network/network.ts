import "./polyfill.js";
import { hash } from "node:crypto";
import { type GossipSub, type GossipSubComponents, gossipsub } from "@chainsafe/libp2p-gossipsub";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { bootstrap as bootstrapDiscovery } from "@libp2p/bootstrap";
import { type Identify, identify } from "@libp2p/identify";
import type { Libp2p, PeerDiscovery, PeerId, PeerInfo, PrivateKey } from "@libp2p/interface";
import { mdns as mdnsDiscovery } from "@libp2p/mdns";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { type Ping, ping } from "@libp2p/ping";
import { prometheusMetrics } from "@libp2p/prometheus-metrics";
import { tcp } from "@libp2p/tcp";
import { type Multiaddr, multiaddr } from "@multiformats/multiaddr";
import { createLibp2p, type ServiceFactoryMap } from "libp2p";
import { Counter, type Registry } from "prom-client";
import { createConnectionGater, type DenyPeer } from "./connectionGater.js";
import { createEmitter, type NetworkEventTarget } from "./emitter.js";
import {
  createGossip,
  type GossipOptions,
  gossipsubConfig,
  type MessageHandler,
  type OnMessageOptions,
} from "./gossip.js";
import { createGossipWatchdog, type GossipWatchdogOptions, type HangUpReason } from "./gossipWatchdog.js";
import { errorFields, type Logger, noopLogger } from "./logger.js";
import { createPeerKeeper } from "./peerKeeper.js";
import { createReqResp, type RateLimit, type RequestHandler, type RequestOptions } from "./reqresp.js";
import { topics as chainTopics, type Topics } from "./topics.js";

/** Options of {@link createNetwork}. */
export interface NetworkOptions {
  /** The node's libp2p identity key, which is also its validator key. Required. */
  privateKey: PrivateKey;
  /** Chain id; part of every topic, protocol id and the default mDNS service tag. Required. */
  chainId: string;
  /** Multiaddrs to listen on. Default `["/ip4/127.0.0.1/tcp/0"]` (loopback, any free port). */
  listen?: string[];
  /** Multiaddrs to announce instead of the listening ones (e.g. behind NAT or in a container). Default: none. */
  announce?: string[];
  /** Peers to connect to and keep connected to, each with `/p2p/<peer id>`. Default `[]`. */
  bootstrap?: string[];
  /** Discover peers on the local network with mDNS. Default `true`. */
  mdns?: boolean;
  /**
   * mDNS service name; only nodes using the same one find each other. Default
   * `_cardio-<first 12 hex digits of sha256(chainId)>._udp.local`, so different chains never mix.
   */
  mdnsServiceTag?: string;
  /** Interval between mDNS queries, in ms. Default 10 000 (libp2p's default). */
  mdnsIntervalMs?: number;
  /** gossipsub tuning; see {@link GossipOptions} for defaults. */
  gossip?: GossipOptions;
  /** Largest gossip message, in bytes; larger ones are rejected before handlers. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Request/response limits. */
  reqresp?: {
    /** Largest request or response frame, in bytes. Default 4 MiB. */
    maxDataLength?: number;
    /** Default request timeout, in ms. Default 10 000. */
    timeoutMs?: number;
    /**
     * Per-peer, per-protocol budgets of the responder, in requests and in response bytes. Defaults:
     * 50 requests/s (burst 100) and 16 MiB/s of answers (burst 64 MiB); see `RateLimit` in `reqresp.ts`.
     */
    rateLimit?: RateLimit;
  };
  /**
   * Hangs up peers gossip no longer flows with (so they reconnect with fresh gossipsub streams) and
   * graylisted peers (refused for a while); see `gossipWatchdog.ts` for what and why. Defaults: a
   * check every 2 s, connections younger than 5 s left alone, 2 failed checks in a row before a hang-up,
   * graylisted peers and peers past a topic's drop budget (`onMessage`'s `dropBudget`) refused
   * for 60 s.
   */
  watchdog?: GossipWatchdogOptions;
  /**
   * Refuses all connections, inbound and outbound, with the peers it returns true for. Consulted on
   * every new connection; call `hangUp` to drop one already open. Default: refuse nobody.
   */
  denyPeer?: DenyPeer;
  /** Connection limits. Defaults suit many nodes on one host (libp2p's own would refuse them). */
  connections?: {
    /** Total connection cap. Default 200. */
    maxConnections?: number;
    /** Inbound connections accepted per second from one IP. Default 100 (libp2p: 5). */
    inboundConnectionThreshold?: number;
    /** Inbound connections being upgraded at once. Default 100 (libp2p: 10). */
    maxIncomingPendingConnections?: number;
    /** Time allowed for one dial, in ms. Default 5 000. */
    dialTimeoutMs?: number;
  };
  /** Redialling of bootstrap and mDNS peers; see `peerKeeper.ts`. */
  redial?: {
    /** Retry period and first backoff, in ms. Default 2 000. */
    intervalMs?: number;
    /** Backoff cap, in ms. Default 30 000. */
    maxBackoffMs?: number;
    /** How long the higher peer id of an mDNS pair waits for the lower one to dial, in ms. Default 1 500. */
    tieBreakDelayMs?: number;
  };
  /** Structured, pino-compatible logger. Default: silent. */
  logger?: Logger;
  /**
   * Registry for libp2p's own metrics (connections, streams, gossipsub) and the network's own:
   * `cardio_network_watchdog_hangups_total{reason}`, peers the watchdog hung up (`gossip_dead`,
   * `graylisted`). Default: none collected.
   */
  metricsRegistry?: Registry;
}

/** One open connection, as `connections()` lists it. */
export interface ConnectionInfo {
  peerId: string;
  /** `outbound` when we dialled. */
  direction: "inbound" | "outbound";
  remoteAddr: string;
}

/** Lifecycle state, the same values libp2p uses. */
export type NetworkStatus = "stopped" | "starting" | "started" | "stopping";

/** One validator's libp2p node: connections, gossip and request/response. */
export interface Network extends NetworkEventTarget {
  /** Our peer id string, which is also our validator address. */
  readonly peerId: string;
  readonly chainId: string;
  /** This chain's gossip topics. */
  readonly topics: Topics;
  /** `stopped` before start and after stop (libp2p's own status once it exists). */
  readonly status: NetworkStatus;
  /**
   * Builds and starts a fresh libp2p node, subscribes the registered topics, serves the registered
   * protocols and dials the bootstrap peers. A no-op when started. Start and stop calls run one at
   * a time, in call order.
   */
  start(): Promise<void>;
  /** Stops everything `start` started, in reverse order. A no-op when stopped. */
  stop(): Promise<void>;
  /** Addresses others can dial, each ending in `/p2p/<peerId>`; empty when stopped. */
  multiaddrs(): string[];
  /** Peer ids with at least one open connection. */
  peers(): string[];
  /** Open connections, to `peerId` or all of them. */
  connections(peerId?: string): ConnectionInfo[];
  /**
   * Connects to a multiaddr (string starting with `/`, or `Multiaddr`) or a known peer id (string or
   * `PeerId`); resolves with the remote peer id, rejects with libp2p's error.
   */
  dial(target: string | Multiaddr | PeerId): Promise<string>;
  /** Closes every connection to `peerId`. Kept peers (bootstrap, mDNS) are redialled later unless denied. */
  hangUp(peerId: string): Promise<void>;

  /** See {@link Gossip.onMessage}. */
  onMessage(topic: string, handler: MessageHandler, options?: OnMessageOptions): () => void;
  /** Publishes on a topic; resolves with the number of peers sent to, never throws for zero peers. */
  publish(topic: string, data: Uint8Array): Promise<number>;
  /** Our mesh peers on `topic`. */
  meshPeers(topic: string): string[];
  /** Connected peers subscribed to `topic`. */
  subscribers(topic: string): string[];
  /** Our gossipsub score of `peerId`. */
  gossipScore(peerId: string): number;

  /** Serves request/response protocol `name` (id `/cardio/<chainId>/<name>/1`). */
  handle(name: string, handler: RequestHandler): void;
  unhandle(name: string): void;
  /** One request, one response; rejects with `ReqRespError`. */
  request(peerId: string, name: string, payload: Uint8Array, options?: RequestOptions): Promise<Uint8Array>;
}

type Services = {
  identify: Identify;
  ping: Ping;
  pubsub: GossipSub;
  mdns?: PeerDiscovery;
};

/**
 * `cardio_network_watchdog_hangups_total{reason}` on `registry`: the one already there when several
 * networks share a registry (each node normally has its own).
 */
function watchdogMetric(registry: Registry | undefined): Counter<"reason"> | undefined {
  if (registry === undefined) return undefined;
  const name = "cardio_network_watchdog_hangups_total";
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as Counter<"reason">;
  const counter = new Counter({
    name,
    help: "Peers the network watchdog hung up, by reason: gossip_dead (connected, but gossipsub dropped it or its streams), graylisted (gossipsub score below the graylist threshold; then refused for a while), drop_flood (relayed more dropped gossip, IGNOREd or REJECTed, than a topic's budget; then refused for a while)",
    labelNames: ["reason"],
    registers: [registry],
  });
  for (const reason of ["gossip_dead", "graylisted"] satisfies HangUpReason[]) counter.inc({ reason }, 0);
  return counter;
}

/** The default mDNS service tag of a chain: a DNS-safe label derived from its id. */
export function defaultMdnsServiceTag(chainId: string): string {
  return `_cardio-${hash("sha256", chainId, "hex").slice(0, 12)}._udp.local`;
}

/**
 * Creates (but does not start) a node's network. Handlers and topic subscriptions may be registered
 * before `start`; each start builds a fresh libp2p node and stop tears it down.
 */
export function createNetwork(options: NetworkOptions): Network {
  const { privateKey, chainId } = options;
  const logger = options.logger ?? noopLogger;
  const peerId = peerIdFromPrivateKey(privateKey).toString();
  const topics = chainTopics(chainId);
  const listen = options.listen ?? ["/ip4/127.0.0.1/tcp/0"];
  const bootstrapList = (options.bootstrap ?? [])
    .map((addr) => {
      const ma = multiaddr(addr);
      if (ma.getPeerId() == null) throw new RangeError(`bootstrap address ${addr} lacks /p2p/<peer id>`);
      return ma;
    })
    // One list for every node of a devnet is convenient; each node skips its own entry.
    .filter((ma) => ma.getPeerId() !== peerId);
  const userDenyPeer: DenyPeer = options.denyPeer ?? (() => false);
  const maxMessageBytes = options.maxMessageBytes ?? 1024 * 1024;
  const gossipConfig = gossipsubConfig({
    ...options.gossip,
    topics: [topics.blocks, topics.txs],
    maxMessageBytes,
  });

  const hangUps = watchdogMetric(options.metricsRegistry);
  const watchdog = createGossipWatchdog({
    ...options.watchdog,
    graylistThreshold: gossipConfig.scoreThresholds?.graylistThreshold ?? -80,
    onHangUp: (reason) => hangUps?.inc({ reason }),
    logger,
  });
  // Graylisted peers the watchdog hung up are refused like denied ones, for a while.
  const denyPeer: DenyPeer = (id) => watchdog.isBanned(id) || userDenyPeer(id);

  const emitter = createEmitter(logger);
  const gossip = createGossip({
    maxMessageBytes,
    // A peer past a topic's drop budget is refused for a while; what it sent before the hang-up
    // is dropped unjudged.
    onDropFlood: (id) => void watchdog.ban(id, "drop_flood"),
    isCutOff: (id) => watchdog.isBanned(id),
    logger,
  });
  const reqresp = createReqResp({
    chainId,
    maxDataLength: options.reqresp?.maxDataLength,
    timeoutMs: options.reqresp?.timeoutMs,
    rateLimit: options.reqresp?.rateLimit,
    logger,
  });
  const keeper = createPeerKeeper({
    selfId: peerId,
    isDenied: denyPeer,
    redialIntervalMs: options.redial?.intervalMs,
    maxBackoffMs: options.redial?.maxBackoffMs,
    tieBreakDelayMs: options.redial?.tieBreakDelayMs,
    // Forget an mDNS peer only after it missed several announcement rounds.
    discoveredTtlMs: 6 * (options.mdnsIntervalMs ?? 10_000),
    logger,
  });

  let node: Libp2p<Services> | undefined;
  let phase: "idle" | "starting" | "stopping" = "idle";
  let detach: Array<() => void> = [];

  function started(): Libp2p<Services> {
    if (node === undefined || node.status !== "started") throw new Error("network not started");
    return node;
  }

  async function build(): Promise<Libp2p<Services>> {
    const services: ServiceFactoryMap<Services> = {
      identify: identify(),
      ping: ping(),
      // gossipsub() is typed as the generic PubSub; we need GossipSub's mesh and scoring API.
      pubsub: gossipsub(gossipConfig) as (components: GossipSubComponents) => GossipSub,
      ...(options.mdns !== false
        ? {
            mdns: mdnsDiscovery({
              serviceTag: options.mdnsServiceTag ?? defaultMdnsServiceTag(chainId),
              interval: options.mdnsIntervalMs,
            }),
          }
        : {}),
    };
    return createLibp2p<Services>({
      privateKey,
      start: false,
      addresses: { listen, announce: options.announce ?? [] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: createConnectionGater(denyPeer, logger),
      ...(options.metricsRegistry === undefined
        ? {}
        : {
            // Each start builds a new libp2p: keep the metrics registered by the previous one.
            metrics: prometheusMetrics({
              registry: options.metricsRegistry,
              collectDefaultMetrics: false,
              preserveExistingMetrics: true,
            }),
          }),
      connectionManager: {
        maxConnections: options.connections?.maxConnections ?? 200,
        inboundConnectionThreshold: options.connections?.inboundConnectionThreshold ?? 100,
        maxIncomingPendingConnections: options.connections?.maxIncomingPendingConnections ?? 100,
        dialTimeout: options.connections?.dialTimeoutMs ?? 5_000,
      },
      // The keeper dials bootstrap peers at once and retries; @libp2p/bootstrap adds them to the
      // peer store (tagged) and makes one dial of its own, which joins the keeper's.
      peerDiscovery:
        bootstrapList.length > 0 ? [bootstrapDiscovery({ list: bootstrapList.map(String) })] : [],
      services,
    });
  }

  function listenTo(target: Libp2p<Services>): void {
    const onConnect = (event: CustomEvent<PeerId>): void => {
      const id = event.detail.toString();
      keeper.connected(id);
      logger.debug({ peer: id }, "peer connected");
      emitter.emit("peer:connect", id);
    };
    const onDisconnect = (event: CustomEvent<PeerId>): void => {
      const id = event.detail.toString();
      keeper.disconnected(id);
      logger.debug({ peer: id }, "peer disconnected");
      emitter.emit("peer:disconnect", id);
    };
    target.addEventListener("peer:connect", onConnect);
    target.addEventListener("peer:disconnect", onDisconnect);
    detach.push(() => {
      target.removeEventListener("peer:connect", onConnect);
      target.removeEventListener("peer:disconnect", onDisconnect);
    });
  }

  function watchMdns(target: Libp2p<Services>): void {
    const service = target.services.mdns;
    if (service === undefined) return;
    const onPeer = (event: CustomEvent<PeerInfo>): void => {
      const { id, multiaddrs } = event.detail;
      const remote = id.toString();
      keeper.want(
        remote,
        multiaddrs.map((ma) => (ma.getPeerId() == null ? ma.encapsulate(`/p2p/${remote}`) : ma)),
        "mdns",
      );
    };
    service.addEventListener("peer", onPeer);
    detach.push(() => service.removeEventListener("peer", onPeer));
  }

  function startWatchdog(target: Libp2p<Services>): void {
    const router = target.services.pubsub;
    const gossipStreams = (id: PeerId) =>
      target
        .getConnections(id)
        .flatMap((connection) => connection.streams)
        .filter((stream) => stream.protocol !== undefined && router.multicodecs.includes(stream.protocol));
    watchdog.start({
      peers() {
        const youngest = new Map<string, number>();
        for (const connection of target.getConnections()) {
          if (connection.status !== "open") continue;
          const id = connection.remotePeer.toString();
          youngest.set(id, Math.max(connection.timeline.open, youngest.get(id) ?? 0));
        }
        const at = Date.now();
        return [...youngest].map(([peerId, openedAt]) => ({ peerId, connectedForMs: at - openedAt }));
      },
      gossipProblem(id) {
        if (!router.peers.has(id)) return "gossipsub no longer lists the peer";
        if (!router.streamsOutbound.has(id)) return "gossipsub holds no outbound stream to the peer";
        if (!router.streamsInbound.has(id)) return "gossipsub holds no inbound stream from the peer";
        const streams = gossipStreams(peerIdFromString(id));
        const writable = streams.some(
          (s) => s.direction === "outbound" && (s.writeStatus === "ready" || s.writeStatus === "writing"),
        );
        if (!writable) return "no writable outbound gossip stream";
        const readable = streams.some((s) => s.direction === "inbound" && s.readStatus === "ready");
        if (!readable) return "no readable inbound gossip stream";
        return undefined;
      },
      async speaksGossip(id) {
        try {
          const peer = await target.peerStore.get(peerIdFromString(id));
          return peer.protocols.some((protocol) => router.multicodecs.includes(protocol));
        } catch {
          return false; // not in the peer store: identify has not run, nothing to judge yet
        }
      },
      score: (id) => router.getScore(id),
      hangUp: (id) => target.hangUp(peerIdFromString(id)),
      reconnect(id) {
        // The keeper redials the peers it keeps; any other, we dial once more (by its known addresses).
        if (keeper.keeps(id) || denyPeer(id) || target.status !== "started") return;
        target.dial(peerIdFromString(id)).catch((err: unknown) => {
          logger.info({ peer: id, ...errorFields(err) }, "redial after a watchdog hang-up failed");
        });
      },
    });
  }

  async function teardown(target: Libp2p<Services>): Promise<void> {
    watchdog.stop();
    keeper.stop();
    gossip.stop();
    await reqresp.stop();
    try {
      await target.stop();
    } finally {
      for (const undo of detach.reverse()) undo();
      detach = [];
    }
  }

  async function startNode(): Promise<void> {
    if (node?.status === "started") return;
    phase = "starting";
    try {
      const target = await build();
      node = target;
      listenTo(target);
      // Protocol handlers go in before the node listens, so no early peer finds them missing.
      await reqresp.start(target);
      try {
        await target.start();
        gossip.start(target.services.pubsub);
        watchMdns(target);
        keeper.start({
          dial: (addrs) => target.dial(addrs),
          isConnected: (id) => target.getConnections(peerIdFromString(id)).length > 0,
        });
        for (const ma of bootstrapList) keeper.want(ma.getPeerId() ?? "", [ma], "bootstrap");
        startWatchdog(target);
      } catch (err) {
        await teardown(target).catch(() => {});
        throw err;
      }
      logger.info({ peer: peerId, addrs: target.getMultiaddrs().map(String) }, "network started");
    } finally {
      phase = "idle";
    }
  }

  async function stopNode(): Promise<void> {
    const target = node;
    if (target === undefined || target.status !== "started") return;
    phase = "stopping";
    try {
      await teardown(target);
      logger.info({ peer: peerId }, "network stopped");
    } finally {
      phase = "idle";
    }
  }

  // start and stop run one at a time, in call order: a stop issued while starting (a signal during
  // boot) waits for the start to finish and then undoes it, instead of racing it. With nothing in
  // progress a step begins synchronously, so `status` reads "starting" right after `start()`.
  let tail: Promise<void> | undefined;
  function serially(step: () => Promise<void>): Promise<void> {
    const next = tail === undefined ? step() : tail.then(step);
    const settled = next.catch(() => {});
    tail = settled;
    void settled.then(() => {
      if (tail === settled) tail = undefined;
    });
    return next;
  }

  const network: Network = {
    peerId,
    chainId,
    topics,
    get status(): NetworkStatus {
      if (phase !== "idle") return phase;
      return node?.status ?? "stopped";
    },
    start: () => serially(startNode),
    stop: () => serially(stopNode),
    multiaddrs: () => (node?.status === "started" ? node.getMultiaddrs().map(String) : []),
    peers: () => (node?.status === "started" ? node.getPeers().map(String) : []),
    connections(remote) {
      if (node?.status !== "started") return [];
      return node
        .getConnections(remote === undefined ? undefined : peerIdFromString(remote))
        .map((connection) => ({
          peerId: connection.remotePeer.toString(),
          direction: connection.direction,
          remoteAddr: connection.remoteAddr.toString(),
        }));
    },
    async dial(target) {
      const current = started();
      const address =
        typeof target === "string"
          ? target.startsWith("/")
            ? multiaddr(target)
            : peerIdFromString(target)
          : target;
      try {
        const connection = await current.dial(address);
        return connection.remotePeer.toString();
      } catch (err) {
        logger.debug({ target: String(address), ...errorFields(err) }, "dial failed");
        throw err;
      }
    },
    async hangUp(remote) {
      await started().hangUp(peerIdFromString(remote));
    },
    onMessage: (topic, handler, handlerOptions) => gossip.onMessage(topic, handler, handlerOptions),
    publish: (topic, data) => gossip.publish(topic, data),
    meshPeers: (topic) => gossip.meshPeers(topic),
    subscribers: (topic) => gossip.subscribers(topic),
    gossipScore: (remote) => gossip.score(remote),
    handle: (name, handler) => reqresp.handle(name, handler),
    unhandle: (name) => reqresp.unhandle(name),
    request: (remote, name, payload, requestOptions) =>
      reqresp.request(remote, name, payload, requestOptions),
    on: (event, listener) => emitter.on(event, listener),
    off: (event, listener) => emitter.off(event, listener),
  };
  return network;
}
