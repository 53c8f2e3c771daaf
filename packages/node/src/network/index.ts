// Must stay the first import: libp2p calls Promise.withResolvers, which Node 20 lacks.
import "./polyfill.js";

export type { DenyPeer } from "./connectionGater.js";
export type { NetworkEventName, NetworkEvents, NetworkListener } from "./emitter.js";
export type { DropBudget, GossipOptions, MessageHandler, OnMessageOptions, Verdict } from "./gossip.js";
export { LOOPBACK_ADDRESSES } from "./gossipScore.js";
export type { GossipWatchdogOptions, HangUpReason } from "./gossipWatchdog.js";
export { type Logger, noopLogger } from "./logger.js";
export {
  type ConnectionInfo,
  createNetwork,
  defaultMdnsServiceTag,
  type Network,
  type NetworkOptions,
  type NetworkStatus,
} from "./network.js";
export { ReqRespError, ReqRespErrorCode, type ReqRespErrorMeta } from "./reqRespError.js";
export {
  DEFAULT_RATE_LIMIT,
  type RateLimit,
  type RequestContext,
  type RequestHandler,
  type RequestOptions,
  ResponseStatus,
} from "./reqresp.js";
export { protocolId, type Topics, topics } from "./topics.js";
