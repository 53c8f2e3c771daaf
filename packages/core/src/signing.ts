import { utf8 } from "./bytes.js";
import { ByteWriter } from "./byteWriter.js";
import { encodeUnsignedHeader } from "./headerCodec.js";
import { type KeyPair, signBytes, verifyBytes } from "./keys.js";
import { Domain } from "./params.js";
import { encodeTxBody } from "./txCodec.js";
import type { Block, BlockHeader, PublicKey, Signature, SignedHeader, SignedTx, TxBody } from "./types.js";

/**
 * The bytes actually signed: tag ‖ 0x00 ‖ u8 len(chainId) ‖ chainId ‖ payload. The tag names the
 * object kind and the chain id the chain, so a signature made for one never verifies as another.
 */
export function signingBytes(tag: string, chainId: string, payload: Uint8Array): Uint8Array {
  const prefix = signingPrefix(tag, chainId);
  const out = new Uint8Array(prefix.length + payload.length);
  out.set(prefix);
  out.set(payload, prefix.length);
  return out;
}

/*
 * `tag ‖ 0x00 ‖ u8 len(chainId) ‖ chainId`, cached: every transaction verification needs it, and
 * re-encoding both strings each time was a measurable share of the cost beside the signature check.
 * A node uses one chain id and a handful of tags, so the cache stays tiny; it is bounded all the same.
 */
const PREFIX_CACHE_MAX = 64;
const prefixCache = new Map<string, Uint8Array>();

function signingPrefix(tag: string, chainId: string): Uint8Array {
  const key = `${tag.length}:${tag}${chainId}`;
  let prefix = prefixCache.get(key);
  if (prefix === undefined) {
    const id = utf8(chainId);
    if (id.length > 255) throw new RangeError("chain id longer than 255 bytes");
    const t = utf8(tag);
    prefix = new ByteWriter(t.length + id.length + 2).raw(t).u8(0).u8(id.length).raw(id).finish();
    if (prefixCache.size >= PREFIX_CACHE_MAX) prefixCache.clear();
    prefixCache.set(key, prefix);
  }
  return prefix;
}

/** Signs a transaction body with the sender's key. The key must be the body's `from`. */
export function signTx(body: TxBody, key: KeyPair, chainId: string): SignedTx {
  const signature = signBytes(key, signingBytes(Domain.tx, chainId, encodeTxBody(body)));
  return { ...body, signature };
}

/** True when the transaction's signature is its sender's, on this chain. */
export function isValidTxSignature(tx: SignedTx, chainId: string): boolean {
  return verifyBytes(tx.from, signingBytes(Domain.tx, chainId, encodeTxBody(tx)), tx.signature);
}

/** Signs a header with the proposer's key. */
export function signHeader(header: BlockHeader, key: KeyPair, chainId: string): SignedHeader {
  const signature = signBytes(key, signingBytes(Domain.block, chainId, encodeUnsignedHeader(header)));
  return { ...header, signature };
}

/** True when the header's signature is its proposer's, on this chain. */
export function isValidHeaderSignature(header: SignedHeader, chainId: string): boolean {
  return verifyBytes(
    header.proposer,
    signingBytes(Domain.block, chainId, encodeUnsignedHeader(header)),
    header.signature,
  );
}

/** One Ed25519 check: does `signature` sign `message` for `publicKey`? */
export interface SignatureCheck {
  readonly publicKey: PublicKey;
  readonly message: Uint8Array;
  readonly signature: Signature;
}

/**
 * The signature checks `applyBlock` makes on a block, as data: the header's first, then each
 * transaction's in order. A caller may run them elsewhere (another thread) and, when all of them pass,
 * tell `applyBlock` so with `signaturesVerified`. Evidence headers inside transactions are not listed:
 * `applyBlock` always checks those itself.
 */
export function blockSignatureChecks(block: Block, chainId: string): SignatureCheck[] {
  const h = block.header;
  const out: SignatureCheck[] = [
    {
      publicKey: h.proposer,
      message: signingBytes(Domain.block, chainId, encodeUnsignedHeader(h)),
      signature: h.signature,
    },
  ];
  for (const tx of block.txs) {
    out.push({
      publicKey: tx.from,
      message: signingBytes(Domain.tx, chainId, encodeTxBody(tx)),
      signature: tx.signature,
    });
  }
  return out;
}
