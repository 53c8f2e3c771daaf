import { CardioError, type Verdict } from "./errors.js";

/** Why the fork choice refused a block. */
export const ForkChoiceErrorCode = {
  /** Hash or parent hash is not 32 bytes, or height/slot is not a non-negative safe integer. */
  INVALID_NODE: "FORK_INVALID_NODE",
  /** The parent is not (yet) known: fetch it and retry. */
  UNKNOWN_PARENT: "FORK_UNKNOWN_PARENT",
  /** The block would attach at or below the root: its branch was pruned, or it belongs to another chain. */
  PRUNED_PARENT: "FORK_PRUNED_PARENT",
  /** Height is not the parent's height + 1. */
  BAD_HEIGHT: "FORK_BAD_HEIGHT",
  /** Slot is not greater than the parent's slot. */
  BAD_SLOT: "FORK_BAD_SLOT",
} as const;
export type ForkChoiceErrorCode = (typeof ForkChoiceErrorCode)[keyof typeof ForkChoiceErrorCode];

/**
 * Gossip verdict of each code. Fixed per code so a thrower cannot pair a code with the wrong verdict:
 * a missing or pruned parent says nothing against the sender, a broken height or slot link does.
 */
export const FORK_CHOICE_VERDICTS: Readonly<Record<ForkChoiceErrorCode, Exclude<Verdict, "accept">>> = {
  [ForkChoiceErrorCode.INVALID_NODE]: "reject",
  [ForkChoiceErrorCode.UNKNOWN_PARENT]: "ignore",
  [ForkChoiceErrorCode.PRUNED_PARENT]: "ignore",
  [ForkChoiceErrorCode.BAD_HEIGHT]: "reject",
  [ForkChoiceErrorCode.BAD_SLOT]: "reject",
};

/** A block the fork choice cannot place in its tree; `verdict` follows from `code`. */
export class ForkChoiceError extends CardioError<ForkChoiceErrorCode> {
  override readonly name = "ForkChoiceError";

  constructor(code: ForkChoiceErrorCode, message: string, meta: Record<string, unknown> = {}) {
    super(code, message, meta, FORK_CHOICE_VERDICTS[code]);
  }
}
