import { ByteReader } from "./byteReader.js";
import { ByteWriter } from "./byteWriter.js";
import { CodecError, CodecErrorCode } from "./errors.js";
import { sha256 } from "./hash.js";
import { encodeHeader, readHeader } from "./headerCodec.js";
import { MAX_TX_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "./params.js";
import { type Hash, type SignedTx, type TxBody, TxKind } from "./types.js";

function writeBody(w: ByteWriter, tx: TxBody): ByteWriter {
  w.u8(TxKind[tx.kind]).fixed(tx.from, PUBLIC_KEY_BYTES).u64n(tx.nonce).u64(tx.fee);
  switch (tx.kind) {
    case "transfer":
      return w.fixed(tx.to, PUBLIC_KEY_BYTES).u64(tx.amount);
    case "stake":
    case "unstake":
      return w.u64(tx.amount);
    case "bpm":
      return w.u16(tx.bpm);
    case "evidence":
      return w.raw(encodeHeader(tx.headerA)).raw(encodeHeader(tx.headerB));
  }
}

/** Canonical bytes of a transaction without its signature (what the sender signs). */
export function encodeTxBody(tx: TxBody): Uint8Array {
  return writeBody(new ByteWriter(128), tx).finish();
}

/** Canonical bytes of a signed transaction: the body followed by the 64-byte signature. */
export function encodeTx(tx: SignedTx): Uint8Array {
  return writeBody(new ByteWriter(160), tx).fixed(tx.signature, SIGNATURE_BYTES).finish();
}

/** Reads the body and signature of a transaction at the reader's position. */
export function readTx(r: ByteReader): SignedTx {
  const kindTag = r.u8("kind");
  const from = r.fixed(PUBLIC_KEY_BYTES, "from");
  const nonce = r.u64n("nonce");
  const fee = r.u64("fee");
  let body: TxBody;
  switch (kindTag) {
    case TxKind.transfer: {
      const to = r.fixed(PUBLIC_KEY_BYTES, "to");
      body = { kind: "transfer", from, nonce, fee, to, amount: r.u64("amount") };
      break;
    }
    case TxKind.stake:
      body = { kind: "stake", from, nonce, fee, amount: r.u64("amount") };
      break;
    case TxKind.unstake:
      body = { kind: "unstake", from, nonce, fee, amount: r.u64("amount") };
      break;
    case TxKind.bpm:
      body = { kind: "bpm", from, nonce, fee, bpm: r.u16("bpm") };
      break;
    case TxKind.evidence: {
      const headerA = readHeader(r);
      const headerB = readHeader(r);
      body = { kind: "evidence", from, nonce, fee, headerA, headerB };
      break;
    }
    default:
      throw new CodecError(CodecErrorCode.UNKNOWN_KIND, `tx: unknown kind ${kindTag}`, { kind: kindTag });
  }
  return { ...body, signature: r.fixed(SIGNATURE_BYTES, "signature") };
}

/** Decodes exactly one signed transaction; throws `CodecError` on oversized, truncated or trailing input. */
export function decodeTx(bytes: Uint8Array): SignedTx {
  if (bytes.length > MAX_TX_BYTES) {
    throw new CodecError(CodecErrorCode.TOO_LARGE, `tx: ${bytes.length} bytes exceeds ${MAX_TX_BYTES}`, {
      length: bytes.length,
      max: MAX_TX_BYTES,
    });
  }
  const r = new ByteReader(bytes, "tx");
  const tx = readTx(r);
  r.end();
  return tx;
}

/** Transaction id: SHA-256 of the signed encoding. */
export function txId(tx: SignedTx): Hash {
  return sha256(encodeTx(tx));
}
