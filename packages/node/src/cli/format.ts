import type { BlockView, SlotEventView, StatusView, TxView } from "./apiViews.js";

/*
 * Human-readable rendering of what the CLI shows. Every address starts with `12D3KooW`, so the
 * short form keeps the head for recognisability and the tail, where addresses differ.
 */

/** `12D3…a1b2c3` for a `12D3KooW…` address. */
export function shortAddress(address: string | undefined): string {
  if (address === undefined || address === "") return "?";
  return address.length <= 12 ? address : `${address.slice(0, 4)}…${address.slice(-6)}`;
}

/** The first 8 hex digits of a hash. */
export function shortHash(hash: string): string {
  return hash === "" ? "?" : hash.slice(0, 8);
}

/** One transaction in a few words: `bpm 72 from 12D3…a1b2c3`. */
export function formatTx(tx: TxView): string {
  const from = `from ${shortAddress(tx.from)}`;
  switch (tx.kind) {
    case "bpm":
      return `bpm ${tx.bpm ?? "?"} ${from}`;
    case "transfer":
      return `transfer ${tx.amount ?? "?"} to ${shortAddress(tx.to)} ${from}`;
    case "stake":
    case "unstake":
      return `${tx.kind} ${tx.amount ?? "?"} ${from}`;
    case "evidence":
      return `evidence ${from}`;
    default:
      return `${tx.kind} ${from}`;
  }
}

/** A block: a header line, then one indented line per transaction. */
export function formatBlock(block: BlockView): string[] {
  const count = `${block.txCount} tx${block.txCount === 1 ? "" : "s"}`;
  const by = block.height === 0 ? "genesis" : `by ${shortAddress(block.proposer)}`;
  const lines = [`#${block.height}  slot ${block.slot}  ${shortHash(block.hash)}  ${by}  ${count}`];
  for (const tx of block.txs ?? []) lines.push(`    ${formatTx(tx)}`);
  return lines;
}

/** `cardio status` as aligned `label  value` lines. */
export function formatStatus(s: StatusView, nodeUrl: string): string[] {
  const rows: [string, string | undefined][] = [
    ["node", nodeUrl],
    ["chain", s.genesisHash === undefined ? s.chainId : `${s.chainId} (genesis ${shortHash(s.genesisHash)})`],
    [
      "peer id",
      s.peerId === undefined ? undefined : `${s.peerId}${s.validator === true ? " (validator)" : ""}`,
    ],
    ["head", `#${s.head.height}  slot ${s.head.slot}  ${shortHash(s.head.hash)}`],
    ["slot", s.currentSlot?.toString()],
    ["sync", formatSync(s)],
    ["peers", s.peers?.toString()],
    ["mempool", s.mempoolSize === undefined ? undefined : `${s.mempoolSize} pending`],
  ];
  return rows.filter((r): r is [string, string] => r[1] !== undefined).map(([k, v]) => `${k.padEnd(8)} ${v}`);
}

function formatSync(s: StatusView): string | undefined {
  if (s.syncState === undefined) return undefined;
  if (s.sync === undefined || s.syncState === "synced") return s.syncState;
  const eta = s.sync.etaSeconds === undefined ? "" : `, ~${Math.ceil(s.sync.etaSeconds)} s left`;
  return `${s.syncState} ${s.sync.done}/${s.sync.target}${eta}`;
}

/** The tutorial's announcement of a slot winner: `slot 42: winner 12D3KooW…a1b2c3 (you)`. */
export function formatSlotEvent(e: SlotEventView, me: string | undefined): string {
  if (e.winner === undefined) return `slot ${e.slot}: no validators`;
  const you = e.winner === me ? " (you)" : "";
  return `slot ${e.slot}: winner ${e.winner.slice(0, 8)}…${e.winner.slice(-6)}${you}`;
}

/** A slot whose winner did not forge: `slot 43: missed (winner 12D3KooW…a1b2c3 was silent)`. */
export function formatMissedSlot(slot: number, winner: string | undefined, me: string | undefined): string {
  if (winner === undefined) return `slot ${slot}: missed`;
  const who = winner === me ? "you were" : `${winner.slice(0, 8)}…${winner.slice(-6)} was`;
  return `slot ${slot}: missed (${who} silent)`;
}
