import { ByteReader, ByteWriter, CodecError, CodecErrorCode, MAX_TX_BYTES } from "@cardio/core";

/*
 * Payloads of the `pending_txs` request/response protocol: the requester lists the
 * short ids of the transactions it already holds, the responder answers with pending transactions
 * not among them (docs/network.md). Fixed layouts; truncated or trailing bytes are refused.
 */

/** Bytes of a short id: the first 8 bytes of a transaction id. */
export const SHORT_TX_ID_BYTES = 8;
/** Most short ids in one request (32 KiB). */
export const MAX_KNOWN_IDS = 4096;
/** Most transactions in one response. */
export const MAX_PENDING_TXS_PER_RESPONSE = 256;

/** request: `u32 count ‖ count × 8-byte short id`. */
export function encodePendingTxsRequest(shortIds: readonly Uint8Array[]): Uint8Array {
  if (shortIds.length > MAX_KNOWN_IDS) throw new RangeError(`at most ${MAX_KNOWN_IDS} known ids`);
  const w = new ByteWriter(4 + SHORT_TX_ID_BYTES * shortIds.length).u32(shortIds.length);
  for (const id of shortIds) w.fixed(id, SHORT_TX_ID_BYTES);
  return w.finish();
}

/** The short ids of a request, as hex strings (16 characters each), in request order. */
export function decodePendingTxsRequest(bytes: Uint8Array): string[] {
  const r = new ByteReader(bytes, "pending_txs request");
  const n = r.u32("count");
  if (n > MAX_KNOWN_IDS) {
    throw new CodecError(
      CodecErrorCode.TOO_LARGE,
      `pending_txs request of ${n} ids exceeds ${MAX_KNOWN_IDS}`,
    );
  }
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(Buffer.from(r.fixed(SHORT_TX_ID_BYTES, `id ${i}`)).toString("hex"));
  r.end();
  return out;
}

/** response: `u32 count ‖ count × (u32 length ‖ encoded signed transaction)`. */
export function encodePendingTxsResponse(txs: readonly Uint8Array[]): Uint8Array {
  if (txs.length > MAX_PENDING_TXS_PER_RESPONSE) {
    throw new RangeError(`at most ${MAX_PENDING_TXS_PER_RESPONSE} transactions per response`);
  }
  let size = 4;
  for (const t of txs) size += 4 + t.length;
  const w = new ByteWriter(size).u32(txs.length);
  for (const t of txs) w.varBytes(t);
  return w.finish();
}

/** The encoded transactions of a response (each still to be decoded and validated). */
export function decodePendingTxsResponse(bytes: Uint8Array): Uint8Array[] {
  const r = new ByteReader(bytes, "pending_txs response");
  const n = r.u32("count");
  if (n > MAX_PENDING_TXS_PER_RESPONSE) {
    throw new CodecError(
      CodecErrorCode.TOO_LARGE,
      `pending_txs response of ${n} transactions exceeds ${MAX_PENDING_TXS_PER_RESPONSE}`,
    );
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(r.varBytes(`tx ${i}`, MAX_TX_BYTES));
  r.end();
  return out;
}
