import {
  addressFromPublicKey,
  type Block,
  buildBlock,
  encodeBlock,
  equalBytes,
  type KeyPair,
  lotteryWinner,
  type PublicKey,
} from "@cardio/core";
import type { Chain } from "../chain/chain.js";
import { errorFields, type Logger, silentLogger } from "../logger.js";
import type { Mempool } from "../mempool/mempool.js";
import type { ChainStore } from "../storage/index.js";

/** What the forger decided for one slot. */
export interface SlotOutcome {
  slot: number;
  /** Public key of the lottery winner on the current head (undefined: no validators). */
  winner?: PublicKey;
  /** Set when this node forged the slot's block. */
  forged?: { block: Block; hash: Uint8Array; bytes: Uint8Array };
  /** Why this node, the winner, did not forge. */
  skipped?: "syncing" | "already-signed" | "stale-head" | "error";
}

/** Options of `createForger`. */
export interface ForgerOptions {
  chain: Chain;
  mempool: Mempool;
  store: ChainStore;
  /** The validator key; undefined for a node that only follows. */
  key?: KeyPair;
  /** Sends a forged block's bytes to the network. */
  publish: (bytes: Uint8Array) => void;
  /** True while the node is too far behind to forge (default: never). */
  isSyncing?: () => boolean;
  logger?: Logger;
}

/**
 * Runs the lottery at each slot on the current head and, when this node's key wins, builds, signs,
 * imports and publishes the block. The slot is written durably as "last signed" before signing, so no
 * restart can ever make this key sign two blocks for one slot.
 */
export class Forger {
  private lastSigned = -1;
  private readonly log: Logger;

  constructor(private readonly opts: ForgerOptions) {
    this.log = opts.logger ?? silentLogger;
  }

  /** Loads the last signed slot from the store. */
  async start(): Promise<void> {
    this.lastSigned = (await this.opts.store.getLastSignedSlot()) ?? -1;
  }

  /** Decides slot `slot`: who wins on the head, and forges if it is us. */
  async onSlot(slot: number): Promise<SlotOutcome> {
    const { chain, key } = this.opts;
    const head = chain.head();
    if (slot <= head.slot) return { slot, skipped: "stale-head" };
    const winner = lotteryWinner(head.state, head.hash, slot, chain.config.minStake);
    if (winner === undefined) return { slot };
    const outcome: SlotOutcome = { slot, winner: winner.publicKey };
    if (key === undefined || !equalBytes(winner.publicKey, key.publicKey)) return outcome;
    if (this.opts.isSyncing?.() === true) return { ...outcome, skipped: "syncing" };
    if (slot <= this.lastSigned) return { ...outcome, skipped: "already-signed" };
    try {
      this.lastSigned = slot;
      await this.opts.store.setLastSignedSlot(slot);
      const built = buildBlock({
        config: chain.config,
        parent: head,
        slot,
        key,
        candidates: this.opts.mempool.candidates(chain.config.maxBlockTxs * 2),
        candidatesVerified: true,
      });
      const bytes = encodeBlock(built.block);
      // Publish first: peers validate in parallel while we persist our own copy.
      this.opts.publish(bytes);
      // We just signed it, from mempool transactions whose signatures were checked on entry: checking
      // them again would cost an Ed25519 verification per transaction at every node's busiest moment.
      await chain.importBlock(built.block, "local", bytes.length, {
        bytes,
        hash: built.hash,
        signaturesVerified: true,
      });
      this.log.debug(
        {
          slot,
          height: built.block.header.height,
          txs: built.block.txs.length,
          proposer: addressFromPublicKey(key.publicKey),
        },
        "forged block",
      );
      return { ...outcome, forged: { block: built.block, hash: built.hash, bytes } };
    } catch (err) {
      this.log.error({ slot, ...errorFields(err) }, "forging failed");
      return { ...outcome, skipped: "error" };
    }
  }
}

/** Creates a forger; call `start()` before the first slot. */
export function createForger(opts: ForgerOptions): Forger {
  return new Forger(opts);
}
