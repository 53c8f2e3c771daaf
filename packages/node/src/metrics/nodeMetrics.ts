import { Counter, collectDefaultMetrics, Gauge, Histogram, type Registry } from "prom-client";

/** Where a block came from, as the `source` label of `cardio_blocks_imported_total`. */
export type BlockSourceLabel = "gossip" | "local" | "sync" | "store";
/** Gossip topic short name, as the `topic` label: `blocks` or `txs` (never the full topic string). */
export type GossipTopicLabel = "blocks" | "txs";
/** A gossip validator's verdict, as the `verdict` label. */
export type GossipVerdictLabel = "accept" | "ignore" | "reject";
/** Why the mempool let a transaction go without it being included, as the `reason` label. */
export type MempoolDropLabel = "evicted" | "invalid" | "replaced";

/** Options of `createNodeMetrics`. */
export interface NodeMetricsOptions {
  /**
   * Also collect prom-client's process metrics (default false): CPU, RSS, open fds as `cardio_process_*`,
   * heap, event-loop lag and GC as `cardio_nodejs_*`. (The prefix is `cardio_`: prom-client's names already
   * start with `process_` or `nodejs_`.) Turn it on for a node that runs as its own process; several
   * nodes sharing a test process would each start their own event-loop and GC observers.
   */
  processMetrics?: boolean;
}

/**
 * The metrics of one node, registered on that node's registry. Every field is a prom-client metric
 * the node updates directly (`m.headHeight.set(n)`, `m.blocksImported.inc({ source: "gossip" })`).
 */
export interface NodeMetrics {
  readonly registry: Registry;
  /** `cardio_head_height`: height of the head block. */
  readonly headHeight: Gauge;
  /** `cardio_head_slot`: slot of the head block. */
  readonly headSlot: Gauge;
  /** `cardio_current_slot`: the slot the wall clock is in (ahead of `headSlot` when slots go empty). */
  readonly currentSlot: Gauge;
  /** `cardio_peers`: connected libp2p peers. */
  readonly peers: Gauge;
  /** `cardio_mempool_size`: pending transactions held. */
  readonly mempoolSize: Gauge;
  /** `cardio_sync_target_height`: height the node is syncing towards (the best height peers report). */
  readonly syncTargetHeight: Gauge;
  /** `cardio_sync_done_blocks`: blocks imported by the current (or last) sync run. */
  readonly syncDoneBlocks: Gauge;
  /** `cardio_syncing`: 1 while the node is catching up (it does not forge then), 0 when synced. */
  readonly syncing: Gauge;
  /** `cardio_blocks_forged_total`: blocks this node built, signed and published. */
  readonly blocksForged: Counter;
  /**
   * `cardio_slots_missed_total`: slots this node's key won on its head but for which it published no
   * block (syncing, already signed, an error); a slot it forged whose block lost a fork is not counted.
   */
  readonly slotsMissed: Counter;
  /** `cardio_slots_empty_total`: slots that ended with no block on the head, whoever won them. */
  readonly slotsEmpty: Counter;
  /** `cardio_blocks_imported_total{source}`: valid blocks added to the block tree, any branch. */
  readonly blocksImported: Counter<"source">;
  /** `cardio_gossip_messages_total{topic,verdict}`: gossip messages validated, by topic and verdict. */
  readonly gossipMessages: Counter<"topic" | "verdict">;
  /** `cardio_mempool_dropped_total{reason}`: pending transactions dropped without being included. */
  readonly mempoolDropped: Counter<"reason">;
  /**
   * `cardio_mempool_pulled_total{outcome}`: transactions received through `pending_txs` pulls: `added`
   * to the pool, already `known` (or no longer applicable), or `invalid` (a lying peer).
   */
  readonly mempoolPulled: Counter<"outcome">;
  /** `cardio_reorgs_total`: head changes to another branch (not a plain extension of the old head). */
  readonly reorgs: Counter;
  /** `cardio_block_import_seconds`: time to validate, apply and persist one block. */
  readonly blockImportSeconds: Histogram;
  /** `cardio_slot_tick_delay_seconds`: how long after each slot's start its timer fired. */
  readonly slotTickDelaySeconds: Histogram;
  /** `cardio_slot_ticks_skipped_total`: slots that passed with no tick (the timer woke too late). */
  readonly slotTicksSkipped: Counter;
}

// Import is a signature check, a state transition and one store batch: milliseconds normally, seconds
// only for a block full of transactions on a slow disk.
const IMPORT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Registers the node's metrics on `registry`. One registry per node: several nodes share a process in
 * tests, so the global default registry is never used. Calling this twice on one registry throws (prom-client
 * refuses duplicate names).
 */
export function createNodeMetrics(registry: Registry, opts: NodeMetricsOptions = {}): NodeMetrics {
  const registers = [registry];
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
  const counter = (name: string, help: string) => new Counter({ name, help, registers });

  const metrics: NodeMetrics = {
    registry,
    headHeight: gauge("cardio_head_height", "Height of the head block."),
    headSlot: gauge("cardio_head_slot", "Slot of the head block."),
    currentSlot: gauge("cardio_current_slot", "Slot the wall clock is in."),
    peers: gauge("cardio_peers", "Connected libp2p peers."),
    mempoolSize: gauge("cardio_mempool_size", "Pending transactions in the mempool."),
    syncTargetHeight: gauge("cardio_sync_target_height", "Height the node is syncing towards."),
    syncDoneBlocks: gauge("cardio_sync_done_blocks", "Blocks imported by the current or last sync run."),
    syncing: gauge("cardio_syncing", "1 while the node is catching up with its peers, else 0."),
    blocksForged: counter("cardio_blocks_forged_total", "Blocks this node forged and published."),
    slotsMissed: counter(
      "cardio_slots_missed_total",
      "Slots this node won but for which it published no block.",
    ),
    slotsEmpty: counter("cardio_slots_empty_total", "Slots that ended with no block on the head."),
    blocksImported: new Counter({
      name: "cardio_blocks_imported_total",
      help: "Valid blocks imported into the block tree, by source.",
      labelNames: ["source"] as const,
      registers,
    }),
    gossipMessages: new Counter({
      name: "cardio_gossip_messages_total",
      help: "Gossip messages validated, by topic (blocks, txs) and verdict (accept, ignore, reject).",
      labelNames: ["topic", "verdict"] as const,
      registers,
    }),
    mempoolDropped: new Counter({
      name: "cardio_mempool_dropped_total",
      help: "Pending transactions dropped without inclusion, by reason (evicted, invalid, replaced).",
      labelNames: ["reason"] as const,
      registers,
    }),
    mempoolPulled: new Counter({
      name: "cardio_mempool_pulled_total",
      help: "Transactions received by pulling peers' pending transactions, by outcome (added, known, invalid).",
      labelNames: ["outcome"] as const,
      registers,
    }),
    reorgs: counter("cardio_reorgs_total", "Head changes to another branch."),
    blockImportSeconds: new Histogram({
      name: "cardio_block_import_seconds",
      help: "Time to validate, apply and persist one block, in seconds.",
      buckets: IMPORT_BUCKETS,
      registers,
    }),
    slotTickDelaySeconds: new Histogram({
      name: "cardio_slot_tick_delay_seconds",
      help: "How long after each slot's start the node's slot timer fired, in seconds.",
      buckets: IMPORT_BUCKETS,
      registers,
    }),
    slotTicksSkipped: counter(
      "cardio_slot_ticks_skipped_total",
      "Slots that passed without a tick of this node's slot timer (it woke after they ended).",
    ),
  };
  metrics.syncing.set(0);
  if (opts.processMetrics === true) collectDefaultMetrics({ register: registry, prefix: "cardio_" });
  return metrics;
}
