import {
  addressFromPublicKey,
  type Block,
  headerHash,
  type SignedHeader,
  type SignedTx,
  type TxKindName,
  toHex,
  txId,
} from "@cardio/core";

/*
 * The JSON form of blocks and transactions, shared by the HTTP API and the CLI: hashes, roots and
 * signatures as lower-case hex, keys as addresses (PeerId strings), amounts as decimal strings (they are
 * u64, beyond what a JSON number holds exactly), heights, slots, nonces and BPM as numbers.
 */

/** A signed block header as JSON. `hash` is the block id (it does not cover the signature). */
export interface HeaderJson {
  hash: string;
  height: number;
  slot: number;
  parentHash: string;
  /** Address of the lottery winner that forged the block. */
  proposer: string;
  txRoot: string;
  stateRoot: string;
  signature: string;
}

/** A signed transaction as JSON: the common fields, then those of its kind. */
export interface TxJson {
  /** SHA-256 of the canonical signed encoding, hex. */
  id: string;
  kind: TxKindName;
  from: string;
  nonce: number;
  fee: string;
  /** transfer */
  to?: string;
  /** transfer, stake, unstake */
  amount?: string;
  /** bpm */
  bpm?: number;
  /** evidence: the two headers one proposer signed for one slot. */
  headerA?: HeaderJson;
  headerB?: HeaderJson;
  signature: string;
}

/** A block as JSON: its header fields and its transactions in order. */
export interface BlockJson extends HeaderJson {
  txs: TxJson[];
}

/** The JSON form of a signed header; pass `hash` when it is already known to skip rehashing. */
export function headerToJson(header: SignedHeader, hash: Uint8Array = headerHash(header)): HeaderJson {
  return {
    hash: toHex(hash),
    height: header.height,
    slot: header.slot,
    parentHash: toHex(header.parentHash),
    proposer: addressFromPublicKey(header.proposer),
    txRoot: toHex(header.txRoot),
    stateRoot: toHex(header.stateRoot),
    signature: toHex(header.signature),
  };
}

/** The JSON form of a signed transaction (with its id). */
export function txToJson(tx: SignedTx): TxJson {
  const out: TxJson = {
    id: toHex(txId(tx)),
    kind: tx.kind,
    from: addressFromPublicKey(tx.from),
    nonce: tx.nonce,
    fee: tx.fee.toString(),
    signature: toHex(tx.signature),
  };
  switch (tx.kind) {
    case "transfer":
      out.to = addressFromPublicKey(tx.to);
      out.amount = tx.amount.toString();
      break;
    case "stake":
    case "unstake":
      out.amount = tx.amount.toString();
      break;
    case "bpm":
      out.bpm = tx.bpm;
      break;
    case "evidence":
      out.headerA = headerToJson(tx.headerA);
      out.headerB = headerToJson(tx.headerB);
      break;
  }
  return out;
}

/** The JSON form of a block; pass `hash` when it is already known to skip rehashing the header. */
export function blockToJson(block: Block, hash?: Uint8Array): BlockJson {
  return { ...headerToJson(block.header, hash), txs: block.txs.map(txToJson) };
}
