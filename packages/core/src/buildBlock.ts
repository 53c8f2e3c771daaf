import { creditProposer, type ParentRef, releaseUnbonding } from "./applyBlock.js";
import { applyTx, assertValidTx } from "./applyTx.js";
import { headerHash } from "./headerCodec.js";
import type { KeyPair } from "./keys.js";
import { SIGNED_HEADER_BYTES } from "./params.js";
import { signHeader } from "./signing.js";
import type { ChainState } from "./state.js";
import { StateDraft } from "./stateDraft.js";
import { stateRoot } from "./stateRoot.js";
import { encodeTx, txId } from "./txCodec.js";
import { txRoot } from "./txRoot.js";
import type { Block, ChainConfig, Hash, SignedTx } from "./types.js";

/** Options of `buildBlock`. */
export interface BuildBlockOptions {
  readonly config: ChainConfig;
  readonly parent: ParentRef;
  readonly slot: number;
  /** The proposer's key; the caller has checked it won the slot. */
  readonly key: KeyPair;
  /** Transactions to try, in order (e.g. the mempool, by fee then arrival). */
  readonly candidates: readonly SignedTx[];
  /** Skip signature checks of candidates the caller has already verified (default false). */
  readonly candidatesVerified?: boolean;
}

/** A signed block, its id and post-state, and the candidates that did not fit or did not apply. */
export interface BuiltBlock {
  readonly block: Block;
  readonly hash: Hash;
  readonly state: ChainState;
  readonly skipped: ReadonlyArray<{ readonly tx: SignedTx; readonly error: unknown }>;
}

/**
 * Builds and signs the block for `slot` on `parent`: applies candidates in order, skipping any that
 * fail, until the count or size limit is reached. The result passes `applyBlock` by construction.
 */
export function buildBlock(opts: BuildBlockOptions): BuiltBlock {
  const { config, parent, slot, key } = opts;
  const draft = new StateDraft(parent.state);
  releaseUnbonding(draft, slot);
  const txs: SignedTx[] = [];
  const ids: Hash[] = [];
  const skipped: Array<{ tx: SignedTx; error: unknown }> = [];
  let size = SIGNED_HEADER_BYTES + 4;
  let fees = 0n;
  for (const tx of opts.candidates) {
    if (txs.length >= config.maxBlockTxs) break;
    const bytes = encodeTx(tx);
    if (size + 4 + bytes.length > config.maxBlockBytes) continue;
    try {
      if (opts.candidatesVerified !== true) assertValidTx(tx, config.chainId);
      fees += applyTx(draft, tx, { config, slot });
    } catch (error) {
      skipped.push({ tx, error });
      continue;
    }
    size += 4 + bytes.length;
    txs.push(tx);
    ids.push(txId(tx));
  }
  creditProposer(draft, config, key.publicKey, fees);
  const state = draft.finish();
  const header = signHeader(
    {
      height: parent.height + 1,
      slot,
      parentHash: parent.hash,
      proposer: key.publicKey,
      txRoot: txRoot(ids),
      stateRoot: stateRoot(state),
    },
    key,
    config.chainId,
  );
  return { block: { header, txs }, hash: headerHash(header), state, skipped };
}
