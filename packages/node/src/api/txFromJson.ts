import {
  CryptoError,
  decodeTx,
  fromHex,
  headerHash,
  publicKeyFromAddress,
  type SignedHeader,
  type SignedTx,
  type TxBody,
  type TxKindName,
  toHex,
  txId,
} from "@cardio/core";
import { ApiError, ApiErrorCode } from "./apiError.js";

/** A header inside JSON evidence (`hash` optional: checked when given). */
export interface HeaderInputJson {
  hash?: string;
  height: number;
  slot: number;
  parentHash: string;
  proposer: string;
  txRoot: string;
  stateRoot: string;
  signature: string;
}

/** A JSON transaction as `POST /txs` takes it (and as `txToJson` writes it). */
export interface TxInputJson {
  kind: TxKindName;
  from: string;
  nonce: number;
  fee: string;
  to?: string;
  amount?: string;
  bpm?: number;
  headerA?: HeaderInputJson;
  headerB?: HeaderInputJson;
  signature: string;
  /** Optional: when given it must be the transaction's id. */
  id?: string;
}

/** The body of `POST /txs`. */
export type TxSubmissionJson = { tx: string } | TxInputJson;

/**
 * The signed transaction a `POST /txs` body describes. The body has passed the route's JSON schema
 * (types, formats, ranges); this adds what a schema cannot say: addresses that decode to keys, the
 * canonical decoding of the hex form, ids and hashes that match. Throws `CodecError` or `ApiError`
 * (400); the signature and everything stateful are the node's to check.
 */
export function txFromJson(body: TxSubmissionJson): SignedTx {
  if ("tx" in body) return decodeTx(fromHex(body.tx));
  const tx = { ...bodyOf(body), signature: fromHex(body.signature) } as SignedTx;
  if (body.id !== undefined && body.id.toLowerCase() !== toHex(txId(tx))) {
    throw new ApiError(
      400,
      ApiErrorCode.INVALID_REQUEST,
      `body.id does not match the transaction (${toHex(txId(tx))})`,
    );
  }
  return tx;
}

function bodyOf(j: TxInputJson): TxBody {
  const common = { from: key(j.from, "body.from"), nonce: j.nonce, fee: BigInt(j.fee) };
  switch (j.kind) {
    case "transfer":
      return { kind: "transfer", ...common, to: key(j.to!, "body.to"), amount: BigInt(j.amount!) };
    case "stake":
      return { kind: "stake", ...common, amount: BigInt(j.amount!) };
    case "unstake":
      return { kind: "unstake", ...common, amount: BigInt(j.amount!) };
    case "bpm":
      return { kind: "bpm", ...common, bpm: j.bpm! };
    case "evidence":
      return {
        kind: "evidence",
        ...common,
        headerA: header(j.headerA!, "body.headerA"),
        headerB: header(j.headerB!, "body.headerB"),
      };
  }
}

function key(address: string, field: string): Uint8Array {
  try {
    return publicKeyFromAddress(address);
  } catch (err) {
    // Keep core's code and wording, and say which field it was.
    if (err instanceof CryptoError) throw new ApiError(400, err.code, `${field}: ${err.message}`);
    throw err;
  }
}

function header(j: HeaderInputJson, field: string): SignedHeader {
  const h: SignedHeader = {
    height: j.height,
    slot: j.slot,
    parentHash: fromHex(j.parentHash),
    proposer: key(j.proposer, `${field}.proposer`),
    txRoot: fromHex(j.txRoot),
    stateRoot: fromHex(j.stateRoot),
    signature: fromHex(j.signature),
  };
  if (j.hash !== undefined && j.hash.toLowerCase() !== toHex(headerHash(h))) {
    throw new ApiError(400, ApiErrorCode.INVALID_REQUEST, `${field}.hash does not match the header`);
  }
  return h;
}
