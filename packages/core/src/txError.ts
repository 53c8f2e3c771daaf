import { CardioError, type Verdict } from "./errors.js";

/** Why a transaction is invalid. */
export const TxErrorCode = {
  BAD_SIGNATURE: "TX_BAD_SIGNATURE",
  NONCE_TOO_LOW: "TX_NONCE_TOO_LOW",
  NONCE_TOO_HIGH: "TX_NONCE_TOO_HIGH",
  INSUFFICIENT_BALANCE: "TX_INSUFFICIENT_BALANCE",
  INSUFFICIENT_STAKE: "TX_INSUFFICIENT_STAKE",
  ZERO_AMOUNT: "TX_ZERO_AMOUNT",
  BPM_OUT_OF_RANGE: "TX_BPM_OUT_OF_RANGE",
  OVERFLOW: "TX_OVERFLOW",
  EVIDENCE_INVALID: "TX_EVIDENCE_INVALID",
  EVIDENCE_DUPLICATE: "TX_EVIDENCE_DUPLICATE",
  EVIDENCE_FUTURE: "TX_EVIDENCE_FUTURE",
} as const;
export type TxErrorCode = (typeof TxErrorCode)[keyof typeof TxErrorCode];

/**
 * A transaction that cannot apply. Verdicts are those of a transaction gossiped on its own: a stale
 * nonce or a spent balance may be an honest race (IGNORE), a bad signature never is (REJECT). Inside
 * a block every invalid transaction makes the block REJECT.
 */
export class TxError extends CardioError<TxErrorCode> {
  override readonly name = "TxError";

  constructor(code: TxErrorCode, message: string, meta: Record<string, unknown> = {}) {
    super(code, message, meta, txVerdict(code));
  }
}

function txVerdict(code: TxErrorCode): Exclude<Verdict, "accept"> {
  switch (code) {
    case TxErrorCode.NONCE_TOO_LOW:
    case TxErrorCode.NONCE_TOO_HIGH:
    case TxErrorCode.INSUFFICIENT_BALANCE:
    case TxErrorCode.INSUFFICIENT_STAKE:
    case TxErrorCode.EVIDENCE_DUPLICATE:
    case TxErrorCode.EVIDENCE_FUTURE:
      return "ignore";
    default:
      return "reject";
  }
}
