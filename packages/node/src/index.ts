/** @cardio/node — the cardio validator node: libp2p networking, storage, slot clock, API and CLI. */

export { type ApiServer, type ApiServerOptions, createApiServer } from "./api/apiServer.js";
export { blockToJson, headerToJson, txToJson } from "./api/json.js";
export * from "./chain/chain.js";
export * from "./chain/equivocationWatch.js";
export * from "./chain/orphanPool.js";
export * from "./clock/slotTicker.js";
export * from "./forger/forger.js";
export * from "./logger.js";
export * from "./mempool/mempool.js";
export * from "./metrics/bindChainMetrics.js";
export * from "./metrics/nodeMetrics.js";
export * from "./node.js";
export * from "./nodeTypes.js";
export * from "./storage/index.js";
export * from "./sync/messages.js";
export * from "./sync/sync.js";
