/**
 * The messages between bench-network.ts (one process per node mode, procs.ts) and each node process
 * (nodeProcess.ts), over Node's IPC channel (JSON). The parent sends requests `{ id, cmd, ... }`; the
 * child answers each with `{ id, ok, result | error }`. Unprompted, the child sends `{ type: "loaded" }`
 * once its modules are loaded. All times are ms on CLOCK_MONOTONIC (`process.hrtime.bigint()`), which
 * every process of the machine shares.
 */
import type { GenesisJson } from "@cardio/core";
import type { BlockArrival, ImportRecord, RawReceive, RawSend } from "./shared.js";

export interface Requests {
  /** Build and start the node (as bench-network.ts's `startable`), wrap its publish, subscribe the raw topic. */
  start: {
    args: { index: number; genesis: GenesisJson; seedHex: string; bootstrap: string[]; rawTopic: string };
    result: { peerId: string; multiaddr: string; genesisHash: string };
  };
  /** Whether this node sees every one of `peerIds` (but itself) subscribed to the blocks and raw topics. */
  ready: { args: { peerIds: string[] }; result: { ready: boolean; peers: number } };
  /** Start of the window: note CPU time and import-seconds totals, start the event-loop monitor. */
  begin: { args: Record<string, never>; result: { blockBytes: number; currentSlot: number } };
  /** Publish raw message `seq` (of `bytes` bytes) at each wall-clock time `at` (Unix ms). */
  raw: { args: { bytes: number; schedule: Array<{ seq: number; at: number }> }; result: null };
  /** The node's current slot, by its own slot ticker. */
  slot: { args: Record<string, never>; result: { currentSlot: number } };
  /** End of the window (waits for this node's raw sends still pending, up to a few seconds). */
  end: { args: Record<string, never>; result: WindowFigures };
  /** Everything recorded since start. */
  records: { args: Record<string, never>; result: NodeRecords };
  /** The head, walked back to the last block at or before slot `last`. */
  top: { args: { last: number }; result: { height: number; hash: string } };
  /** The canonical block's hash at `height`, or null. */
  canonicalAt: { args: { height: number }; result: string | null };
  /**
   * The canonical chain below `topHash` for slots first..last (slot → hash), and for each slot of that
   * range without a block the address of its lottery winner on the chain's block before it.
   */
  chain: {
    args: { topHash: string; first: number; last: number };
    result: { canonical: Array<[number, string]>; winners: Array<[number, string]> };
  };
  /** Stop the node; the process exits 0 once the answer is sent. */
  stop: { args: Record<string, never>; result: { stillRunning: boolean } };
}

export type Command = keyof Requests;

export type Request = { [C in Command]: { id: number; cmd: C } & Requests[C]["args"] }[Command];

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export interface Loaded {
  type: "loaded";
}

export interface WindowFigures {
  pid: number;
  /** Peak RSS of the process's life, in MB. */
  peakRssMb: number;
  /** RSS at the end of the window, in MB. */
  rssMb: number;
  /** CPU time over the window as a share of one core. */
  cpuShare: number;
  loopDelay: { p99: number; max: number };
  /** cardio_block_import_seconds over the window: sum (s) and count. */
  importSum: number;
  importCount: number;
  /** Raw sends still scheduled when the window ended (should be 0). */
  rawPending: number;
}

export interface NodeRecords {
  imports: ImportRecord[];
  forgeStart: Array<[string, number]>;
  publishStart: Array<[string, number]>;
  rawSent: RawSend[];
  rawRecv: RawReceive[];
  /** Slots whose slot event fired at this node. */
  slotsSeen: number[];
  /** Blocks-topic messages reaching the node's gossip handler (before decode and validation). */
  arrivals: BlockArrival[];
}
