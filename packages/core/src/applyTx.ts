import { equalBytes, toHex } from "./bytes.js";
import { headerHash } from "./headerCodec.js";
import { MAX_AMOUNT, MAX_BPM, MIN_BPM } from "./params.js";
import { isValidHeaderSignature, isValidTxSignature } from "./signing.js";
import { offenceKey } from "./state.js";
import type { StateDraft } from "./stateDraft.js";
import { TxError, TxErrorCode } from "./txError.js";
import type { Account, ChainConfig, SignedTx, TxBody } from "./types.js";

/** Where a transaction is being applied: the chain's parameters and the slot of the block holding it. */
export interface TxContext {
  readonly config: ChainConfig;
  readonly slot: number;
}

/**
 * Checks a transaction's rules that need no state: positive amounts, BPM range, well-formed evidence.
 * Throws `TxError`.
 */
export function assertValidTxFormat(tx: TxBody): void {
  switch (tx.kind) {
    case "transfer":
    case "stake":
    case "unstake":
      if (tx.amount === 0n) throw new TxError(TxErrorCode.ZERO_AMOUNT, `${tx.kind} amount must be positive`);
      return;
    case "bpm":
      if (!Number.isInteger(tx.bpm) || tx.bpm < MIN_BPM || tx.bpm > MAX_BPM) {
        throw new TxError(
          TxErrorCode.BPM_OUT_OF_RANGE,
          `bpm must be a whole number ${MIN_BPM}-${MAX_BPM}, got ${tx.bpm}`,
          {
            bpm: tx.bpm,
          },
        );
      }
      return;
    case "evidence": {
      const { headerA: a, headerB: b } = tx;
      if (!equalBytes(a.proposer, b.proposer)) {
        throw new TxError(TxErrorCode.EVIDENCE_INVALID, "evidence headers have different proposers");
      }
      if (a.slot !== b.slot) {
        throw new TxError(
          TxErrorCode.EVIDENCE_INVALID,
          `evidence headers are for slots ${a.slot} and ${b.slot}`,
        );
      }
      if (equalBytes(headerHash(a), headerHash(b))) {
        throw new TxError(TxErrorCode.EVIDENCE_INVALID, "evidence headers are the same block");
      }
      return;
    }
  }
}

/**
 * Checks everything about a transaction that needs no state: format, then the sender's signature
 * (unless `signatureVerified`: the caller already checked it).
 */
export function assertValidTx(tx: SignedTx, chainId: string, signatureVerified = false): void {
  assertValidTxFormat(tx);
  if (!signatureVerified && !isValidTxSignature(tx, chainId)) {
    throw new TxError(TxErrorCode.BAD_SIGNATURE, "transaction signature does not verify for its sender");
  }
}

/** True when the transaction passes `assertValidTx`. */
export function isValidTx(tx: SignedTx, chainId: string): boolean {
  try {
    assertValidTx(tx, chainId);
    return true;
  } catch {
    return false;
  }
}

function debit(account: Account, amount: bigint, what: string): bigint {
  if (account.balance < amount) {
    throw new TxError(
      TxErrorCode.INSUFFICIENT_BALANCE,
      `balance ${account.balance} is less than the ${amount} needed for ${what}`,
      { balance: account.balance.toString(), needed: amount.toString() },
    );
  }
  return account.balance - amount;
}

function credit(balance: bigint, amount: bigint): bigint {
  const next = balance + amount;
  if (next > MAX_AMOUNT) throw new TxError(TxErrorCode.OVERFLOW, "balance would exceed 2^64-1");
  return next;
}

/**
 * Applies one transaction whose format and signature were already checked (`assertValidTx`) to the
 * draft. On error the draft is unchanged. The fee is debited here; the caller credits it to the
 * proposer. Returns the fee.
 */
export function applyTx(draft: StateDraft, tx: SignedTx, ctx: TxContext): bigint {
  const fromHex = toHex(tx.from);
  const sender = draft.getHex(fromHex);
  if (tx.nonce !== sender.nonce) {
    const code = tx.nonce < sender.nonce ? TxErrorCode.NONCE_TOO_LOW : TxErrorCode.NONCE_TOO_HIGH;
    throw new TxError(code, `nonce ${tx.nonce} but the sender's next nonce is ${sender.nonce}`, {
      nonce: tx.nonce,
      expected: sender.nonce,
    });
  }
  const nonce = sender.nonce + 1;
  switch (tx.kind) {
    case "transfer": {
      const balance = debit(sender, tx.amount + tx.fee, "transfer and fee");
      const toHexKey = toHex(tx.to);
      if (toHexKey === fromHex) {
        draft.setHex(fromHex, { ...sender, balance: balance + tx.amount, nonce });
      } else {
        const recipient = draft.getHex(toHexKey);
        const next = { ...recipient, balance: credit(recipient.balance, tx.amount) };
        draft.setHex(fromHex, { ...sender, balance, nonce });
        draft.setHex(toHexKey, next);
      }
      break;
    }
    case "stake": {
      const balance = debit(sender, tx.amount + tx.fee, "stake and fee");
      draft.setHex(fromHex, { ...sender, balance, stake: sender.stake + tx.amount, nonce });
      break;
    }
    case "unstake": {
      if (sender.stake < tx.amount) {
        throw new TxError(TxErrorCode.INSUFFICIENT_STAKE, `stake ${sender.stake} is less than ${tx.amount}`, {
          stake: sender.stake.toString(),
          amount: tx.amount.toString(),
        });
      }
      const balance = debit(sender, tx.fee, "fee");
      const unbonding = [
        ...sender.unbonding,
        { amount: tx.amount, releaseSlot: ctx.slot + ctx.config.unbondingDelay },
      ];
      draft.setHex(fromHex, { ...sender, balance, stake: sender.stake - tx.amount, unbonding, nonce });
      break;
    }
    case "bpm": {
      const balance = debit(sender, tx.fee, "fee");
      draft.setHex(fromHex, { ...sender, balance, nonce });
      break;
    }
    case "evidence": {
      const { headerA: a } = tx;
      if (a.slot > ctx.slot) {
        throw new TxError(
          TxErrorCode.EVIDENCE_FUTURE,
          `evidence for slot ${a.slot} is after slot ${ctx.slot}`,
        );
      }
      const key = offenceKey(a.proposer, a.slot);
      if (draft.hasOffence(key)) {
        throw new TxError(
          TxErrorCode.EVIDENCE_DUPLICATE,
          `equivocation at slot ${a.slot} was already slashed`,
          {
            slot: a.slot,
          },
        );
      }
      if (
        !isValidHeaderSignature(tx.headerA, ctx.config.chainId) ||
        !isValidHeaderSignature(tx.headerB, ctx.config.chainId)
      ) {
        throw new TxError(TxErrorCode.EVIDENCE_INVALID, "an evidence header's signature does not verify");
      }
      const balance = debit(sender, tx.fee, "fee");
      draft.setHex(fromHex, { ...sender, balance, nonce });
      // Re-read: the sender may be the offender.
      const offenderHex = toHex(a.proposer);
      const offender = draft.getHex(offenderHex);
      let slashed = offender.stake;
      for (const u of offender.unbonding) slashed += u.amount;
      draft.setHex(offenderHex, { ...offender, stake: 0n, unbonding: [] });
      draft.burned += slashed;
      draft.addOffence(key);
      break;
    }
  }
  return tx.fee;
}
