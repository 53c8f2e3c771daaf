import {
  createPeerScoreParams,
  createPeerScoreThresholds,
  createTopicScoreParams,
  type PeerScoreParams,
  type PeerScoreThresholds,
  type TopicScoreParams,
  validatePeerScoreParams,
  validatePeerScoreThresholds,
} from "@chainsafe/libp2p-gossipsub/score";

/** Addresses exempt from the IP-colocation penalty by default: many local validators share them. */
export const LOOPBACK_ADDRESSES: readonly string[] = ["127.0.0.1", "::1"];

/** Options of {@link gossipScore}. */
export interface GossipScoreOptions {
  /** Topics to score (the chain's topics); messages on other topics do not affect scores. */
  topics: readonly string[];
  /**
   * IP addresses whose peers are never penalised for sharing an address. Default: loopback, so a
   * devnet of many nodes on 127.0.0.1 is not graylisted by its own members.
   */
  ipColocationWhitelist?: readonly string[];
}

/**
 * Peer scoring tuned for a small chain network whose traffic is a block every few hundred ms
 * and bursts of transactions:
 *
 * - P4 (invalid messages, i.e. `reject` verdicts) is the main signal. Weight −20, counter squared:
 *   one invalid message costs −20 (below the gossip threshold −10: no more IHAVE/IWANT with them),
 *   two −80 (below the publish threshold −50), three −180 (graylisted: all they send is ignored).
 *   The counter decays by 1 % a second (half-life ≈ 69 s), so an honest node recovers from a
 *   one-off mistake.
 * - P3/P3b (mesh delivery rate) are off: with quiet topics honest mesh peers would fall short of any
 *   delivery quota and be pruned, which is how early Ethereum deployments got hurt.
 * - P1 (time in mesh, up to +3 per topic) and P2 (first deliveries, up to +2 per topic) reward
 *   stable, useful peers a little; the topic cap of 10 keeps earned credit below one invalid
 *   message's cost.
 * - P6 (IP colocation) keeps gossipsub's default (−5 × surplus² above 10 peers per IP) except for
 *   whitelisted addresses.
 * - P7 (behaviour: GRAFT during backoff, broken IWANT promises) keeps gossipsub's defaults.
 *
 * Thresholds are gossipsub's defaults (gossip −10, publish −50, graylist −80), with opportunistic
 * grafting lowered to 3 so it can trigger under the topic cap of 10.
 */
export function gossipScore(options: GossipScoreOptions): {
  scoreParams: PeerScoreParams;
  scoreThresholds: PeerScoreThresholds;
} {
  const topicParams: TopicScoreParams = createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1_000,
    timeInMeshCap: 300,
    firstMessageDeliveriesWeight: 0.2,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 10,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -20,
    invalidMessageDeliveriesDecay: 0.99,
  });
  const scoreParams = createPeerScoreParams({
    topics: Object.fromEntries(options.topics.map((topic) => [topic, topicParams])),
    topicScoreCap: 10,
    IPColocationFactorWhitelist: new Set(options.ipColocationWhitelist ?? LOOPBACK_ADDRESSES),
  });
  const scoreThresholds = createPeerScoreThresholds({ opportunisticGraftThreshold: 3 });
  // gossipsub does not validate these itself; a bad value would silently disable scoring.
  validatePeerScoreParams(scoreParams);
  validatePeerScoreThresholds(scoreThresholds);
  return { scoreParams, scoreThresholds };
}
