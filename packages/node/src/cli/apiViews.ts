import { addressFromPublicKey, fromHex } from "@cardio/core";
import { CliError } from "./cliError.js";

/*
 * What the CLI reads from a node's JSON API, and tolerant readers for it. The readers take only
 * the fields the CLI shows, accept the few shapes a field may reasonably have (an address or a
 * public key in hex, an amount as a string or a number, a block flat or with a `header`), and
 * fail with one clear line when an essential field is missing: an older or newer node should not
 * crash the CLI with a TypeError.
 */

/** `GET /status`, as much of it as the CLI uses. */
export interface StatusView {
  chainId: string;
  peerId?: string;
  genesisHash?: string;
  head: { height: number; slot: number; hash: string };
  currentSlot?: number;
  syncState?: string;
  sync?: { done: number; target: number; blocksPerSecond?: number; etaSeconds?: number };
  peers?: number;
  mempoolSize?: number;
  validator?: boolean;
}

/** `GET /accounts/:address`. `pendingNonce` counts the sender's transactions still in the mempool. */
export interface AccountView {
  nonce: number;
  pendingNonce?: number;
  balance?: string;
  stake?: string;
}

/** `GET /txs/:id`. */
export interface TxStatusView {
  status: string;
  height?: number;
}

/** One transaction of a block, summarised. Addresses are `12D3KooW…` strings. */
export interface TxView {
  kind: string;
  id?: string;
  from?: string;
  to?: string;
  amount?: string;
  bpm?: number;
  nonce?: number;
  fee?: string;
}

/** One block of `GET /blocks`. `txs` is undefined when the node sent only a count. */
export interface BlockView {
  height: number;
  slot: number;
  hash: string;
  proposer?: string;
  txCount: number;
  txs?: TxView[];
}

/** A `slot` event of `GET /events`. */
export interface SlotEventView {
  slot: number;
  winner?: string;
  forgedByUs: boolean;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function badResponse(what: string, why: string): CliError {
  return new CliError("BAD_RESPONSE", `unexpected ${what} from the node: ${why}`);
}

function num(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^[0-9]+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  return undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function amount(v: unknown): string | undefined {
  if (typeof v === "string" && /^[0-9]+$/.test(v)) return v;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return String(v);
  if (typeof v === "bigint") return v.toString();
  return undefined;
}

/** An address as the node may send it: a PeerId string, or a 32-byte public key in hex. */
function address(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  if (/^[0-9a-fA-F]{64}$/.test(v)) {
    try {
      return addressFromPublicKey(fromHex(v));
    } catch {
      return v;
    }
  }
  return v;
}

function requireNum(o: Obj, key: string, what: string): number {
  const v = num(o[key]);
  if (v === undefined) throw badResponse(what, `no numeric "${key}"`);
  return v;
}

/** Reads `GET /status`. */
export function readStatus(json: unknown): StatusView {
  if (!isObj(json)) throw badResponse("status", "not a JSON object");
  const chainId = str(json.chainId);
  if (chainId === undefined) throw badResponse("status", 'no "chainId"');
  const head = isObj(json.head) ? json.head : json;
  const sync = isObj(json.sync) ? json.sync : undefined;
  return {
    chainId,
    peerId: str(json.peerId),
    genesisHash: str(json.genesisHash),
    head: {
      height: requireNum(head, "height", "status"),
      slot: num(head.slot) ?? 0,
      hash: str(head.hash) ?? "",
    },
    currentSlot: num(json.currentSlot),
    syncState: str(json.syncState),
    sync:
      sync === undefined
        ? undefined
        : {
            done: num(sync.done) ?? 0,
            target: num(sync.target) ?? 0,
            blocksPerSecond: typeof sync.blocksPerSecond === "number" ? sync.blocksPerSecond : undefined,
            etaSeconds: typeof sync.etaSeconds === "number" ? sync.etaSeconds : undefined,
          },
    peers: num(json.peers) ?? (Array.isArray(json.peers) ? json.peers.length : undefined),
    mempoolSize: num(json.mempoolSize),
    validator: typeof json.validator === "boolean" ? json.validator : undefined,
  };
}

/** Reads `GET /accounts/:address`. */
export function readAccount(json: unknown): AccountView {
  if (!isObj(json)) throw badResponse("account", "not a JSON object");
  const acc = isObj(json.account) ? json.account : json;
  return {
    nonce: requireNum(acc, "nonce", "account"),
    pendingNonce: num(acc.pendingNonce) ?? num(acc.nextNonce),
    balance: amount(acc.balance),
    stake: amount(acc.stake),
  };
}

/** Reads `GET /txs/:id`. */
export function readTxStatus(json: unknown): TxStatusView {
  if (!isObj(json)) throw badResponse("transaction status", "not a JSON object");
  const status = str(json.status) ?? str(json.state);
  if (status === undefined) throw badResponse("transaction status", 'no "status"');
  const block = isObj(json.block) ? json.block : undefined;
  return { status, height: num(json.height) ?? (block === undefined ? undefined : num(block.height)) };
}

/** Reads one transaction of a block. */
export function readTx(json: unknown): TxView {
  if (!isObj(json)) return { kind: "?" };
  const body = isObj(json.body) ? { ...json, ...json.body } : json;
  return {
    kind: str(body.kind) ?? str(body.type) ?? "?",
    id: str(body.id),
    from: address(body.from),
    to: address(body.to),
    amount: amount(body.amount),
    bpm: num(body.bpm),
    nonce: num(body.nonce),
    fee: amount(body.fee),
  };
}

/** Reads one block (flat, or with its fields under `header`). */
export function readBlock(json: unknown): BlockView {
  if (!isObj(json)) throw badResponse("block", "not a JSON object");
  const h = isObj(json.header) ? { ...json.header, ...json } : json;
  const txs = Array.isArray(json.txs) ? json.txs.map(readTx) : undefined;
  return {
    height: requireNum(h, "height", "block"),
    slot: num(h.slot) ?? 0,
    hash: str(json.hash) ?? str(h.hash) ?? "",
    proposer: address(h.proposer),
    txCount: txs?.length ?? num(json.txs) ?? num(json.txCount) ?? 0,
    txs,
  };
}

/** Reads `GET /blocks`: an array of blocks, or `{ blocks: [...] }`. */
export function readBlocks(json: unknown): BlockView[] {
  const list = Array.isArray(json)
    ? json
    : isObj(json) && Array.isArray(json.blocks)
      ? json.blocks
      : undefined;
  if (list === undefined) throw badResponse("block list", "not an array of blocks");
  return list.map(readBlock);
}

/** Reads a `slot` event; undefined if it is not one (the stream may grow new fields and kinds). */
export function readSlotEvent(json: unknown): SlotEventView | undefined {
  if (!isObj(json)) return undefined;
  const slot = num(json.slot);
  if (slot === undefined) return undefined;
  return { slot, winner: address(json.winner), forgedByUs: json.forgedByUs === true };
}
