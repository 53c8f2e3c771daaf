import { CardioError, type Verdict } from "./errors.js";

/** Why a block is invalid on its parent, or cannot be judged yet. */
export const BlockErrorCode = {
  TOO_MANY_TXS: "BLOCK_TOO_MANY_TXS",
  TOO_LARGE: "BLOCK_TOO_LARGE",
  WRONG_HEIGHT: "BLOCK_WRONG_HEIGHT",
  SLOT_NOT_AFTER_PARENT: "BLOCK_SLOT_NOT_AFTER_PARENT",
  FUTURE_SLOT: "BLOCK_FUTURE_SLOT",
  NO_VALIDATORS: "BLOCK_NO_VALIDATORS",
  WRONG_PROPOSER: "BLOCK_WRONG_PROPOSER",
  BAD_SIGNATURE: "BLOCK_BAD_SIGNATURE",
  BAD_TX_ROOT: "BLOCK_BAD_TX_ROOT",
  INVALID_TX: "BLOCK_INVALID_TX",
  BAD_STATE_ROOT: "BLOCK_BAD_STATE_ROOT",
  UNKNOWN_PARENT: "BLOCK_UNKNOWN_PARENT",
} as const;
export type BlockErrorCode = (typeof BlockErrorCode)[keyof typeof BlockErrorCode];

/**
 * A block that failed validation. A block from a slot that has not started yet, or whose parent is
 * unknown, may become valid later (IGNORE); every other failure is provable from the block and its
 * parent alone (REJECT, and the sender is penalised).
 */
export class BlockError extends CardioError<BlockErrorCode> {
  override readonly name = "BlockError";

  constructor(code: BlockErrorCode, message: string, meta: Record<string, unknown> = {}) {
    super(code, message, meta, blockVerdict(code));
  }
}

function blockVerdict(code: BlockErrorCode): Exclude<Verdict, "accept"> {
  return code === BlockErrorCode.FUTURE_SLOT || code === BlockErrorCode.UNKNOWN_PARENT ? "ignore" : "reject";
}
