import { addressFromPublicKey } from "./address.js";
import { applyTx, assertValidTx } from "./applyTx.js";
import { encodeBlock } from "./blockCodec.js";
import { BlockError, BlockErrorCode } from "./blockError.js";
import { equalBytes, toHex } from "./bytes.js";
import { headerHash } from "./headerCodec.js";
import { lotteryWinner } from "./lottery.js";
import { MAX_CLOCK_DISPARITY_MS } from "./params.js";
import { isValidHeaderSignature } from "./signing.js";
import { slotAt } from "./slotClock.js";
import type { ChainState } from "./state.js";
import { StateDraft } from "./stateDraft.js";
import { stateRoot } from "./stateRoot.js";
import { txId } from "./txCodec.js";
import { TxError } from "./txError.js";
import { txRoot } from "./txRoot.js";
import type { Block, ChainConfig, Hash, PublicKey, SignedTx } from "./types.js";
import { unbondingHolders } from "./unbondingHolders.js";

/** What a block is validated against: its parent block and the state after it. */
export interface ParentRef {
  readonly hash: Hash;
  readonly height: number;
  readonly slot: number;
  readonly state: ChainState;
}

/**
 * Moves unbonded stake whose delay has passed back to the balance, then runs the transactions in
 * order and credits the proposer with the block reward and fees. Shared by building and validating so
 * the two can never disagree.
 */
export function transitionBlock(
  config: ChainConfig,
  parentState: ChainState,
  slot: number,
  proposer: PublicKey,
  txs: readonly SignedTx[],
): ChainState {
  const draft = new StateDraft(parentState);
  releaseUnbonding(draft, slot);
  let fees = 0n;
  for (let i = 0; i < txs.length; i++) {
    try {
      fees += applyTx(draft, txs[i]!, { config, slot });
    } catch (err) {
      throw asInvalidTx(err, i);
    }
  }
  creditProposer(draft, config, proposer, fees);
  return draft.finish();
}

/**
 * Releases matured unbonding entries (releaseSlot ≤ slot) into balances. Visits only the accounts
 * that hold unbonding entries (`unbondingHolders`), so a block does not cost O(accounts).
 */
export function releaseUnbonding(draft: StateDraft, slot: number): void {
  const holders = unbondingHolders(draft.base);
  const keys = [...holders];
  for (const hex of draft.changedKeys()) if (!holders.has(hex)) keys.push(hex);
  for (const hex of keys) {
    const a = draft.getHex(hex);
    if (a.unbonding.length === 0 || !a.unbonding.some((u) => u.releaseSlot <= slot)) continue;
    let released = 0n;
    const kept = [];
    for (const u of a.unbonding) {
      if (u.releaseSlot <= slot) released += u.amount;
      else kept.push(u);
    }
    draft.setHex(hex, { ...a, balance: a.balance + released, unbonding: kept });
  }
}

/** Mints the block reward and pays the collected fees to the proposer. */
export function creditProposer(
  draft: StateDraft,
  config: ChainConfig,
  proposer: PublicKey,
  fees: bigint,
): void {
  const hex = toHex(proposer);
  const a = draft.getHex(hex);
  draft.setHex(hex, { ...a, balance: a.balance + config.blockReward + fees });
  draft.minted += config.blockReward;
}

function asInvalidTx(err: unknown, index: number): BlockError {
  if (err instanceof TxError) {
    return new BlockError(BlockErrorCode.INVALID_TX, `tx ${index}: ${err.message}`, {
      index,
      txCode: err.code,
    });
  }
  throw err;
}

/** Options of `applyBlock`. */
export interface ApplyBlockOptions {
  readonly config: ChainConfig;
  readonly parent: ParentRef;
  readonly block: Block;
  /**
   * Local wall-clock time in ms; blocks from a slot that has not begun by `nowMs + 500` are IGNOREd.
   * Omit only when replaying blocks already accepted (from the node's own store).
   */
  readonly nowMs?: number;
  /** Size of the block's encoding, when the caller already has it (saves re-encoding). */
  readonly encodedSize?: number;
  /**
   * The header's and every transaction's signature were already verified by the caller (every check
   * of `blockSignatureChecks(block, chainId)` passed, e.g. in a worker thread): skip those Ed25519
   * calls. Everything else is still checked: limits, parent, slot, lottery, roots, nonces, balances,
   * and the signatures of evidence headers. Default false. Never set it for a block whose checks failed
   * or were not run: validate it fully, so it is refused with the usual error.
   */
  readonly signaturesVerified?: boolean;
  /**
   * `headerHash(block.header)`, when the caller already computed it (a node does, to spot duplicates
   * before validating): returned as the block's id instead of hashing the header again.
   */
  readonly hash?: Hash;
}

/** A block that passed validation, with its id and post-state. */
export interface AppliedBlock {
  readonly hash: Hash;
  readonly state: ChainState;
  /** The id of each transaction, in order (computed for the tx root; reuse them instead of rehashing). */
  readonly txIds: readonly Hash[];
}

/**
 * Fully validates `block` on its parent and returns its post-state, or throws `BlockError` naming
 * the first rule broken. Cheap checks run first, signatures next, the state transition last.
 */
export function applyBlock(opts: ApplyBlockOptions): AppliedBlock {
  const { config, parent, block } = opts;
  const h = block.header;
  if (block.txs.length > config.maxBlockTxs) {
    throw new BlockError(
      BlockErrorCode.TOO_MANY_TXS,
      `${block.txs.length} txs exceed the limit ${config.maxBlockTxs}`,
    );
  }
  const size = opts.encodedSize ?? encodeBlock(block).length;
  if (size > config.maxBlockBytes) {
    throw new BlockError(BlockErrorCode.TOO_LARGE, `${size} bytes exceed the limit ${config.maxBlockBytes}`);
  }
  if (!equalBytes(h.parentHash, parent.hash)) {
    throw new BlockError(
      BlockErrorCode.UNKNOWN_PARENT,
      `parent ${toHex(h.parentHash)} is not ${toHex(parent.hash)}`,
    );
  }
  if (h.height !== parent.height + 1) {
    throw new BlockError(
      BlockErrorCode.WRONG_HEIGHT,
      `height ${h.height} on a parent at height ${parent.height}`,
      {
        height: h.height,
        expected: parent.height + 1,
      },
    );
  }
  if (h.slot <= parent.slot) {
    throw new BlockError(
      BlockErrorCode.SLOT_NOT_AFTER_PARENT,
      `slot ${h.slot} is not after parent slot ${parent.slot}`,
    );
  }
  if (opts.nowMs !== undefined) {
    const latest = slotAt(config, opts.nowMs + MAX_CLOCK_DISPARITY_MS);
    if (h.slot > latest) {
      throw new BlockError(BlockErrorCode.FUTURE_SLOT, `slot ${h.slot} has not started (current ${latest})`, {
        slot: h.slot,
        current: latest,
      });
    }
  }
  const winner = lotteryWinner(parent.state, parent.hash, h.slot, config.minStake);
  if (winner === undefined)
    throw new BlockError(BlockErrorCode.NO_VALIDATORS, "the parent state has no validators");
  if (!equalBytes(winner.publicKey, h.proposer)) {
    throw new BlockError(
      BlockErrorCode.WRONG_PROPOSER,
      `proposer ${addressFromPublicKey(h.proposer)} did not win slot ${h.slot} (winner ${addressFromPublicKey(winner.publicKey)})`,
      { slot: h.slot },
    );
  }
  const sigsVerified = opts.signaturesVerified === true;
  if (!sigsVerified && !isValidHeaderSignature(h, config.chainId)) {
    throw new BlockError(BlockErrorCode.BAD_SIGNATURE, "header signature does not verify for its proposer");
  }
  const ids = block.txs.map(txId);
  if (!equalBytes(txRoot(ids), h.txRoot))
    throw new BlockError(BlockErrorCode.BAD_TX_ROOT, "tx root mismatch");
  for (let i = 0; i < block.txs.length; i++) {
    try {
      assertValidTx(block.txs[i]!, config.chainId, sigsVerified);
    } catch (err) {
      throw asInvalidTx(err, i);
    }
  }
  const state = transitionBlock(config, parent.state, h.slot, h.proposer, block.txs);
  if (!equalBytes(stateRoot(state), h.stateRoot)) {
    throw new BlockError(BlockErrorCode.BAD_STATE_ROOT, "state root mismatch");
  }
  return { hash: opts.hash ?? headerHash(h), state, txIds: ids };
}

/** True when `applyBlock` accepts the block. */
export function isValidBlock(opts: ApplyBlockOptions): boolean {
  try {
    applyBlock(opts);
    return true;
  } catch {
    return false;
  }
}
