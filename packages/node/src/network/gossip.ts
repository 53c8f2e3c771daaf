import { hash } from "node:crypto";
import type { GossipSub, GossipsubMessage, GossipsubOpts } from "@chainsafe/libp2p-gossipsub";
import { StrictNoSign, TopicValidatorResult } from "@libp2p/interface";
import { gossipScore, LOOPBACK_ADDRESSES } from "./gossipScore.js";
import { errorFields, type Logger, noopLogger } from "./logger.js";
import { createRateLimiter, type RateLimiter } from "./rateLimiter.js";

/** A topic handler's verdict; it decides whether gossipsub forwards the message and how it scores the sender. */
export type Verdict = "accept" | "ignore" | "reject";

/**
 * Validates and consumes one gossip message. `fromPeerId` is the peer that relayed it to us, not
 * necessarily its author (messages are unsigned at the gossip layer). Return `accept` to forward it,
 * `ignore` to drop it without blame (early, late, duplicate, unknown parent) and `reject` to drop it
 * and penalise the relayer (provably invalid). A handler that throws counts as `reject`.
 *
 * Answer within a few heartbeats (`mcacheLength` × heartbeat ≈ 3.5 s by default): after that the
 * message has left gossipsub's cache and an `accept` no longer forwards it.
 */
export type MessageHandler = (data: Uint8Array, fromPeerId: string) => Promise<Verdict> | Verdict;

/** Tuning of the gossipsub router. */
export interface GossipOptions {
  /** Target mesh degree D. Default 6: with fewer than 7 peers the mesh is every peer. */
  D?: number;
  /** Below this many mesh peers a heartbeat grafts more. Default ⌈2D/3⌉ (4 for D = 6). */
  Dlo?: number;
  /** Above this many mesh peers a heartbeat prunes. Default 2D (12 for D = 6). */
  Dhi?: number;
  /**
   * Heartbeat interval in ms: mesh maintenance and IHAVE gossip (the repair path for lost messages)
   * run this often. Default 700, measured to form meshes and repair losses well within slots of a
   * few hundred ms without noticeable CPU on 10 local nodes.
   */
  heartbeatMs?: number;
  /** Addresses exempt from the IP-colocation score penalty. Default: loopback (`127.0.0.1`, `::1`). */
  ipColocationWhitelist?: readonly string[];
}

/** Everything gossipsub needs, derived from the chain's topics and the node's options. */
export interface GossipsubConfigOptions extends GossipOptions {
  /** Topics to score: the chain's topics. */
  topics: readonly string[];
  /** Largest message accepted, in bytes. */
  maxMessageBytes: number;
}

/**
 * The gossipsub configuration of a cardio node:
 * - `StrictNoSign` and a content-hash message id: blocks and transactions carry their own
 *   signatures, so gossipsub signatures would be redundant bytes and CPU, and identical content
 *   from two relayers must deduplicate.
 * - No `fastMsgIdFn`: it would be a second hash of the same bytes on every first delivery, to save
 *   one cheap StrictNoSign check on duplicates.
 * - `asyncValidation`: messages are forwarded only after the application's verdict.
 * - `allowPublishToZeroTopicPeers`: a lone validator still forges and "publishes" its blocks.
 * - `ignoreDuplicatePublishError`: re-publishing the same transaction is not an error.
 * - No floodsub fallback: nothing on a cardio network speaks it, and it would bypass the mesh.
 */
export function gossipsubConfig(options: GossipsubConfigOptions): Partial<GossipsubOpts> {
  const D = options.D ?? 6;
  const Dlo = options.Dlo ?? Math.max(1, Math.ceil((2 * D) / 3));
  const Dhi = options.Dhi ?? 2 * D;
  if (!(Number.isInteger(D) && D >= 1 && Dlo >= 1 && Dlo <= D && Dhi >= D)) {
    throw new RangeError(`gossip degrees must satisfy 1 <= Dlo <= D <= Dhi, got ${Dlo}, ${D}, ${Dhi}`);
  }
  const heartbeatInterval = options.heartbeatMs ?? 700;
  const { scoreParams, scoreThresholds } = gossipScore({
    topics: options.topics,
    ipColocationWhitelist: options.ipColocationWhitelist ?? LOOPBACK_ADDRESSES,
  });
  return {
    globalSignaturePolicy: StrictNoSign,
    // The topic is part of the id: otherwise a transaction's bytes published first on the blocks topic
    // would make every node drop the real transaction as a duplicate.
    msgIdFn: (msg) => hash("sha256", Buffer.concat([Buffer.from(`${msg.topic}\n`), msg.data]), "buffer"),
    msgIdToStrFn: (id) => Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex"),
    asyncValidation: true,
    allowPublishToZeroTopicPeers: true,
    ignoreDuplicatePublishError: true,
    fallbackToFloodsub: false,
    emitSelf: false,
    D,
    Dlo,
    Dhi,
    // gossipsub requires Dout < Dlo and Dout <= D/2.
    Dout: Math.min(2, Math.floor(D / 2), Dlo - 1),
    Dscore: Math.min(4, Dlo),
    Dlazy: D,
    heartbeatInterval,
    scoreParams,
    scoreThresholds,
    // Whole RPCs (possibly several messages, e.g. an IWANT answer) are capped well above one
    // message: the per-message cap is enforced by the topic validator, which penalises the sender,
    // while an RPC over this cap kills the peer's whole gossip stream.
    maxInboundDataLength: Math.max(4 * 1024 * 1024, 4 * options.maxMessageBytes + 64 * 1024),
  };
}

/**
 * How many dropped messages one peer may relay on a topic: a token bucket per peer and topic, one
 * token per IGNORE and `rejectCost` per REJECT. IGNORE costs the relayer nothing in gossipsub's score
 * (the message may only be early, late or ahead of our head), so without this a peer could keep a
 * node judging hopeless messages as fast as it can send them; REJECTs do lower the score, but
 * gossipsub keeps reading and decoding a graylisted peer's RPCs until someone hangs it up.
 */
export interface DropBudget {
  /** Tokens a peer may draw back to back. */
  burst: number;
  /** Tokens added back per second. */
  perSecond: number;
  /**
   * Tokens one REJECT draws. Default 8: an honest relayer forwards only what it validated itself, by
   * the same rules, so it relays a provably invalid message only through a bug or a version skew.
   */
  rejectCost?: number;
}

/** Options of {@link GossipLayer.onMessage}. */
export interface OnMessageOptions {
  /**
   * IGNOREd and REJECTed messages one relaying peer may draw on this topic; a peer past it is
   * reported to `GossipLayerOptions.onDropFlood` (which hangs it up). Default: unlimited.
   */
  dropBudget?: DropBudget;
}

/** Options of {@link createGossip}. */
export interface GossipLayerOptions {
  /** Messages larger than this are rejected before any handler sees them (sender penalised). */
  maxMessageBytes: number;
  /**
   * Called once when a peer overdraws a topic's drop budget (the network bans and hangs it up).
   * Default: nothing but a log line.
   */
  onDropFlood?: (peerId: string, topic: string) => void;
  /**
   * Peers whose messages skip the handlers (verdict IGNORE at once): the network's banned peers,
   * whose backlog already read from the socket would otherwise still be judged one by one after the
   * hang-up. Default: none.
   */
  isCutOff?: (peerId: string) => boolean;
  /** Clock for the drop budgets, in ms; injectable for tests. Default `performance.now`. */
  now?: () => number;
  /** Structured logger. Default: silent. */
  logger?: Logger;
}

/** The application's view of gossip on one node. */
export interface Gossip {
  /**
   * Subscribes to `topic` and routes its messages to `handler`; one handler per topic. Works before
   * and after start. Returns a function that unsubscribes.
   */
  onMessage(topic: string, handler: MessageHandler, options?: OnMessageOptions): () => void;
  /**
   * Publishes `data` on `topic`; resolves with the number of peers it was sent to (0 when alone or
   * not started). Throws a RangeError only for data over `maxMessageBytes`, which no peer would accept.
   */
  publish(topic: string, data: Uint8Array): Promise<number>;
  /** Peers in our mesh for `topic`. */
  meshPeers(topic: string): string[];
  /** Connected peers known to subscribe to `topic`. */
  subscribers(topic: string): string[];
  /** Our gossipsub score of `peerId` (0 when unknown or not started). */
  score(peerId: string): number;
  /** Attaches to a started gossipsub router. */
  start(router: GossipSub): void;
  /** Detaches; verdicts still pending are dropped. */
  stop(): void;
}

const VERDICTS: Record<Verdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
};

/** Creates the gossip layer: topic subscriptions, verdict handling and publishing. */
export function createGossip(options: GossipLayerOptions): Gossip {
  const { maxMessageBytes } = options;
  const logger = options.logger ?? noopLogger;
  const isCutOff = options.isCutOff ?? (() => false);
  const handlers = new Map<string, MessageHandler>();
  const budgets = new Map<string, { limiter: RateLimiter; rejectCost: number }>();
  /**
   * Peers reported for a drop flood whose budget has not refilled since, so each is reported once.
   * Bounded like the budgets' own buckets: a stream of fresh keys must not grow it for ever.
   */
  const flooding = new Set<string>();
  const MAX_FLOODING = 10_000;
  let router: GossipSub | undefined;

  // Runs inside gossipsub before the message is cached or delivered, so an oversized message never
  // reaches a handler and its relayer takes the invalid-message penalty.
  const sizeValidator = (peer: { toString(): string }, msg: { data: Uint8Array; topic: string }) => {
    if (msg.data.byteLength <= maxMessageBytes) return TopicValidatorResult.Accept;
    logger.warn(
      { peer: peer.toString(), topic: msg.topic, bytes: msg.data.byteLength, maxMessageBytes },
      "oversized gossip message rejected",
    );
    return TopicValidatorResult.Reject;
  };

  function subscribe(current: GossipSub, topic: string): void {
    current.topicValidators.set(topic, sizeValidator);
    current.subscribe(topic);
  }

  function unsubscribe(current: GossipSub, topic: string): void {
    current.topicValidators.delete(topic);
    try {
      current.unsubscribe(topic);
    } catch (err) {
      logger.debug({ topic, ...errorFields(err) }, "unsubscribe failed");
    }
  }

  async function judge(current: GossipSub, detail: GossipsubMessage): Promise<void> {
    const { msgId, msg } = detail;
    const from = detail.propagationSource.toString();
    const handler = handlers.get(msg.topic);
    let verdict: Verdict = "ignore";
    // A peer we are hanging up (e.g. for flooding): its messages read before the hang-up are left
    // unjudged, and so not charged to its budget either.
    const cutOff = isCutOff(from);
    if (cutOff) {
      // no handler call
    } else if (handler !== undefined) {
      try {
        const result = await handler(msg.data, from);
        if (typeof result === "string" && Object.hasOwn(VERDICTS, result)) {
          verdict = result;
        } else {
          logger.error(
            { topic: msg.topic, peer: from, result },
            "gossip handler returned no verdict; rejecting",
          );
          verdict = "reject";
        }
      } catch (err) {
        logger.error(
          { topic: msg.topic, peer: from, ...errorFields(err) },
          "gossip handler threw; rejecting",
        );
        verdict = "reject";
      }
    }
    if (router !== current) return; // stopped (or restarted) while the handler ran
    if (verdict !== "accept" && !cutOff) chargeDrop(from, msg.topic, verdict);
    if (verdict !== "accept")
      logger.debug({ topic: msg.topic, peer: from, msgId, verdict }, "gossip message dropped");
    try {
      current.reportMessageValidationResult(msgId, from, VERDICTS[verdict]);
    } catch (err) {
      logger.warn({ topic: msg.topic, ...errorFields(err) }, "cannot report gossip verdict");
    }
  }

  function chargeDrop(from: string, topic: string, verdict: Verdict): void {
    const budget = budgets.get(topic);
    if (budget === undefined) return;
    if (budget.limiter.take(from, verdict === "reject" ? budget.rejectCost : 1)) {
      flooding.delete(from);
      return;
    }
    if (flooding.has(from)) return;
    if (flooding.size >= MAX_FLOODING) flooding.clear();
    flooding.add(from);
    logger.warn(
      { peer: from, topic, verdict },
      "peer relays more dropped gossip than its budget allows; cutting it off",
    );
    try {
      options.onDropFlood?.(from, topic);
    } catch (err) {
      logger.warn({ peer: from, ...errorFields(err) }, "drop-flood callback failed");
    }
  }

  const onGossipMessage = (event: CustomEvent<GossipsubMessage>): void => {
    const current = router;
    if (current === undefined) return;
    judge(current, event.detail).catch((err: unknown) =>
      logger.error({ ...errorFields(err) }, "gossip validation failed unexpectedly"),
    );
  };

  return {
    onMessage(topic, handler, handlerOptions = {}) {
      if (handlers.has(topic)) throw new Error(`a handler for ${topic} is already registered`);
      const { dropBudget } = handlerOptions;
      if (dropBudget !== undefined) {
        const rejectCost = dropBudget.rejectCost ?? 8;
        if (!(rejectCost >= 0) || !Number.isFinite(rejectCost)) {
          throw new RangeError(`drop budget rejectCost must be a finite number >= 0, got ${rejectCost}`);
        }
        const limiter = createRateLimiter({
          burst: dropBudget.burst,
          ratePerSecond: dropBudget.perSecond,
          ...(options.now === undefined ? {} : { now: options.now }),
        });
        budgets.set(topic, { limiter, rejectCost });
      }
      handlers.set(topic, handler);
      if (router !== undefined) subscribe(router, topic);
      return () => {
        if (handlers.get(topic) !== handler) return;
        handlers.delete(topic);
        budgets.delete(topic);
        if (router !== undefined) unsubscribe(router, topic);
      };
    },
    async publish(topic, data) {
      if (data.byteLength > maxMessageBytes) {
        throw new RangeError(
          `gossip message of ${data.byteLength} bytes exceeds maxMessageBytes ${maxMessageBytes}`,
        );
      }
      const current = router;
      if (current === undefined) {
        logger.warn({ topic }, "publish while the network is not started; message dropped");
        return 0;
      }
      try {
        const result = await current.publish(topic, data);
        return result.recipients.length;
      } catch (err) {
        logger.warn({ topic, ...errorFields(err) }, "publish failed");
        return 0;
      }
    },
    meshPeers: (topic) => router?.getMeshPeers(topic) ?? [],
    subscribers: (topic) => router?.getSubscribers(topic).map((peer) => peer.toString()) ?? [],
    score: (peerId) => router?.getScore(peerId) ?? 0,
    start(newRouter) {
      router = newRouter;
      newRouter.addEventListener("gossipsub:message", onGossipMessage);
      for (const topic of handlers.keys()) subscribe(newRouter, topic);
    },
    stop() {
      const current = router;
      router = undefined;
      if (current === undefined) return;
      for (const topic of handlers.keys()) unsubscribe(current, topic);
      current.removeEventListener("gossipsub:message", onGossipMessage);
    },
  };
}
