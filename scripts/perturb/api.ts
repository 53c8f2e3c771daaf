import {
  type Block,
  fromHex,
  headerHash,
  publicKeyFromAddress,
  type SignedHeader,
  type SignedTx,
  type TxBody,
  toHex,
  txId,
} from "../../packages/core/src/index.js";
import type { BlockJson, HeaderJson, TxJson } from "../../packages/node/src/api/json.js";

export type { BlockJson, HeaderJson, TxJson };

/*
 * The harness reads every node only through its HTTP API, as an operator would: /status, /blocks
 * pages (at most 100 per request), /accounts/:address, /txs/:id, POST /txs. Blocks come back as JSON
 * and are rebuilt here into core's `Block` (every hash and id re-derived and compared), so the
 * offline replay checks exactly what the node served.
 */

/** A JSON answer, or `undefined` when the node did not answer (down, paused, cut off, timed out). */
export interface Answer<T> {
  status: number;
  body: T;
}

export async function getJson<T = unknown>(url: string, timeoutMs = 3000): Promise<Answer<T> | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: (await res.json()) as T };
  } catch {
    return undefined;
  }
}

/** POST JSON; `undefined` when the request failed or timed out (the outcome is then unknown). */
export async function postJson<T = unknown>(
  url: string,
  body: unknown,
  timeoutMs = 3000,
): Promise<Answer<T> | { error: string }> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, body: (await res.json()) as T };
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string } };
    return { error: e.cause?.code ?? e.name ?? String(err) };
  }
}

export interface StatusJson {
  chainId: string;
  peerId: string;
  genesisHash: string;
  head: { height: number; slot: number; hash: string };
  currentSlot: number;
  syncState: "synced" | "syncing";
  peers: number;
  mempoolSize: number;
}

export interface AccountJson {
  address: string;
  balance: string;
  stake: string;
  unbonding: Array<{ amount: string; releaseSlot: number }>;
  nonce: number;
  pendingNonce: number;
}

export interface TxStatusJson {
  status: "included" | "pending" | "unknown";
  height?: number;
  blockHash?: string;
}

/** Rebuilds a signed header from JSON; throws when its hash is not the one served. */
export function headerFromJson(j: HeaderJson): SignedHeader {
  const header: SignedHeader = {
    height: j.height,
    slot: j.slot,
    parentHash: fromHex(j.parentHash),
    proposer: publicKeyFromAddress(j.proposer),
    txRoot: fromHex(j.txRoot),
    stateRoot: fromHex(j.stateRoot),
    signature: fromHex(j.signature),
  };
  const hash = toHex(headerHash(header));
  if (hash !== j.hash)
    throw new Error(`header at height ${j.height}: served hash ${j.hash}, computed ${hash}`);
  return header;
}

/** Rebuilds a signed transaction from JSON; throws when its id is not the one served. */
export function txFromJson(j: TxJson): SignedTx {
  const common = { from: publicKeyFromAddress(j.from), nonce: j.nonce, fee: BigInt(j.fee) };
  let body: TxBody;
  switch (j.kind) {
    case "transfer":
      body = { kind: "transfer", ...common, to: publicKeyFromAddress(j.to!), amount: BigInt(j.amount!) };
      break;
    case "stake":
      body = { kind: "stake", ...common, amount: BigInt(j.amount!) };
      break;
    case "unstake":
      body = { kind: "unstake", ...common, amount: BigInt(j.amount!) };
      break;
    case "bpm":
      body = { kind: "bpm", ...common, bpm: j.bpm! };
      break;
    case "evidence":
      body = {
        kind: "evidence",
        ...common,
        headerA: headerFromJson(j.headerA!),
        headerB: headerFromJson(j.headerB!),
      };
      break;
    default:
      throw new Error(`unknown tx kind ${String((j as { kind: unknown }).kind)}`);
  }
  const tx = { ...body, signature: fromHex(j.signature) } as SignedTx;
  const id = toHex(txId(tx));
  if (id !== j.id) throw new Error(`tx ${j.id}: computed id ${id}`);
  return tx;
}

export function blockFromJson(j: BlockJson): Block {
  return { header: headerFromJson(j), txs: j.txs.map(txFromJson) };
}

/** One node's canonical chain as served: heights 1..n in order, each linked to the one before. */
export interface FetchedChain {
  json: BlockJson[];
  /** `json[i]` is height i + 1. */
  blocks: Block[];
}

/**
 * Reads a node's canonical chain from height 1 up to its head (or `upTo`) through `/blocks` pages of
 * 100. The head moves while pages are read, and a reorg near the tip can land between two pages: the
 * link from each page to the last is checked and the tail re-read from a few blocks back when it
 * breaks. Returns `undefined` when the node stops answering.
 */
export async function fetchChain(
  api: string,
  upTo = Number.POSITIVE_INFINITY,
): Promise<FetchedChain | undefined> {
  const json: BlockJson[] = [];
  let retries = 0;
  let failures = 0;
  for (;;) {
    const from = json.length + 1;
    if (from > upTo) break;
    const limit = Math.min(100, upTo - from + 1);
    const page = await getJson<{ headHeight: number; blocks: BlockJson[] }>(
      `${api}/blocks?from=${from}&limit=${limit}`,
      10_000,
    );
    if (page === undefined || page.status !== 200) {
      // A busy host: ask again a few times before calling the node unresponsive.
      if (++failures > 3) return undefined;
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    const blocks = page.body.blocks;
    if (blocks.length === 0) break;
    const prev = json[json.length - 1];
    const linked =
      (prev === undefined || blocks[0]!.parentHash === prev.hash) &&
      blocks.every((b, i) => i === 0 || b.parentHash === blocks[i - 1]!.hash) &&
      blocks.every((b, i) => b.height === from + i);
    if (!linked) {
      if (++retries > 20) throw new Error(`${api}: chain pages do not link after 20 re-reads`);
      json.splice(Math.max(0, json.length - 10));
      continue;
    }
    json.push(...blocks);
    if (blocks.length < limit) break;
  }
  return { json, blocks: json.map(blockFromJson) };
}
