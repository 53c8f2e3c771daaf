import {
  addressFromPublicKey,
  applyBlock,
  type ChainState,
  type Genesis,
  genesisBlock,
  lotteryWinner,
  offenceKey,
  publicKeyFromAddress,
  toHex,
  totalSupply,
} from "../../packages/core/src/index.js";
import type { AccountJson, FetchedChain } from "./api.js";
import type { InvariantResult } from "./report.js";

/*
 * The invariants, each a pure function of what was read from the nodes' APIs (and of what the
 * harness itself did), so each can be tested and read on its own. Every one returns held/violated
 * with the numbers behind it.
 */

/** One node's view, as read at the end of a run. */
export interface NodeView {
  name: string;
  chain: FetchedChain;
  /** Accounts read while the node's head stayed `snapshotHead` (see `snapshotAccounts`). */
  accounts: Map<string, AccountJson>;
  snapshotHead: { height: number; hash: string };
}

/** A chain replayed offline from genesis with core alone. */
export interface Replay {
  /** `states[h]` is the post-state at height h (0: genesis). */
  states: ChainState[];
  hashes: string[];
  /** The first block that failed, if any. */
  failure?: string;
}

/**
 * Replays `chain` from genesis: each block's proposer must be the lottery winner re-derived from its
 * parent (hash and post-state), and the block must pass core's full validation (`applyBlock`:
 * signature, roots, every transaction, limits). Stops at the first failure.
 */
export function replayChain(genesis: Genesis, chain: FetchedChain): Replay {
  const g = genesisBlock(genesis);
  const states: ChainState[] = [g.state];
  const hashes: string[] = [toHex(g.hash)];
  let parent = { hash: g.hash, height: 0, slot: 0, state: g.state };
  for (const block of chain.blocks) {
    const h = block.header;
    const winner = lotteryWinner(parent.state, parent.hash, h.slot, genesis.minStake);
    if (winner === undefined || winner.hex !== toHex(h.proposer)) {
      return {
        states,
        hashes,
        failure:
          `height ${h.height} slot ${h.slot}: proposer ${addressFromPublicKey(h.proposer)} is not the ` +
          `lottery winner ${winner === undefined ? "(none)" : addressFromPublicKey(winner.publicKey)}`,
      };
    }
    try {
      const applied = applyBlock({ config: genesis, parent, block });
      states.push(applied.state);
      hashes.push(toHex(applied.hash));
      parent = { hash: applied.hash, height: h.height, slot: h.slot, state: applied.state };
    } catch (err) {
      return { states, hashes, failure: `height ${h.height}: ${(err as Error).message}` };
    }
  }
  return { states, hashes };
}

export function checkLottery(views: NodeView[], replays: Replay[]): InvariantResult {
  const violations: string[] = [];
  let blocks = 0;
  views.forEach((v, i) => {
    const r = replays[i]!;
    blocks += r.states.length - 1;
    if (r.failure !== undefined) violations.push(`${v.name}: ${r.failure}`);
  });
  return {
    name: "every block's proposer is the lottery winner re-derived offline (and the block is valid)",
    held: violations.length === 0,
    detail: `${blocks} blocks replayed from genesis with core applyBlock/lotteryWinner over ${views.length} nodes`,
    violations,
  };
}

/** The height up to which every node's chain is compared: the lowest fetched height, less `margin`. */
export function commonHeight(views: NodeView[], margin: number): number {
  return Math.max(0, Math.min(...views.map((v) => v.chain.json.length)) - margin);
}

export function checkAgreement(views: NodeView[], upTo: number): InvariantResult {
  const violations: string[] = [];
  const ref = views[0]!;
  for (let h = 1; h <= upTo; h++) {
    const hashes = views.map((v) => v.chain.json[h - 1]!.hash);
    if (hashes.some((x) => x !== hashes[0])) {
      violations.push(
        `height ${h}: ${views.map((v, i) => `${v.name}=${hashes[i]!.slice(0, 10)}`).join(" ")}`,
      );
      if (violations.length >= 5) break;
    }
  }
  const tips = views.map((v) => `${v.name}@${v.chain.json.length}`).join(", ");
  return {
    name: "all honest nodes hold the same block at every height they share",
    held: violations.length === 0,
    detail: `${views.length} nodes identical at heights 1..${upTo} (read up to ${tips}; the last 2 heights are left to the head check)${ref === undefined ? "" : ""}`,
    violations,
  };
}

/** Slots in 1..slot(upTo) with no block on a node's chain. */
export function missedSlots(chain: FetchedChain, upTo: number): number[] {
  const filled = new Set(chain.json.slice(0, upTo).map((b) => b.slot));
  const last = upTo === 0 ? 0 : chain.json[upTo - 1]!.slot;
  const out: number[] = [];
  for (let s = 1; s <= last; s++) if (!filled.has(s)) out.push(s);
  return out;
}

/**
 * Who should have forged each missed slot of a chain up to `upTo`: the lottery winner on the block
 * that was the head then (the parent of the next block), re-derived from the replay. Counts by address.
 */
export function missedByWinner(
  genesis: Genesis,
  chain: FetchedChain,
  replay: Replay,
  upTo: number,
): Map<string, number> {
  const counts = new Map<string, number>();
  let parentSlot = 0;
  for (let h = 1; h <= upTo && h < replay.states.length; h++) {
    const b = chain.json[h - 1]!;
    const state = replay.states[h - 1]!;
    const parentHash = Uint8Array.from(Buffer.from(replay.hashes[h - 1]!, "hex"));
    for (let s = parentSlot + 1; s < b.slot; s++) {
      const w = lotteryWinner(state, parentHash, s, genesis.minStake);
      const addr = w === undefined ? "(none)" : addressFromPublicKey(w.publicKey);
      counts.set(addr, (counts.get(addr) ?? 0) + 1);
    }
    parentSlot = b.slot;
  }
  return counts;
}

export function checkMissedSlots(views: NodeView[], upTo: number): InvariantResult {
  const sets = views.map((v) => missedSlots(v.chain, upTo));
  const ref = sets[0]!;
  const violations: string[] = [];
  sets.forEach((s, i) => {
    if (s.length !== ref.length || s.some((x, j) => x !== ref[j])) {
      const a = new Set(ref);
      const b = new Set(s);
      const onlyRef = ref.filter((x) => !b.has(x)).slice(0, 5);
      const onlyThis = s.filter((x) => !a.has(x)).slice(0, 5);
      violations.push(
        `${views[i]!.name} differs from ${views[0]!.name}: only there ${onlyThis}, only in ref ${onlyRef}`,
      );
    }
  });
  const last = upTo === 0 ? 0 : views[0]!.chain.json[upTo - 1]!.slot;
  return {
    name: "the set of missed slots agrees across nodes",
    held: violations.length === 0,
    detail: `${ref.length} of ${last} slots empty (${last === 0 ? 0 : ((100 * ref.length) / last).toFixed(1)} %) on every node, up to height ${upTo}`,
    violations,
  };
}

/** Where each transaction id sits in a chain (heights, 1-based). */
function txIndex(chain: FetchedChain): Map<string, number[]> {
  const idx = new Map<string, number[]>();
  for (const b of chain.json) {
    for (const t of b.txs) {
      const list = idx.get(t.id);
      if (list === undefined) idx.set(t.id, [b.height]);
      else list.push(b.height);
    }
  }
  return idx;
}

export function checkTransactions(
  views: NodeView[],
  accepted: ReadonlySet<string>,
  known: ReadonlySet<string>,
  txStatus: Map<string, Map<string, { status: string; height?: number; blockHash?: string }>>,
): InvariantResult {
  const violations: string[] = [];
  let duplicates = 0;
  for (const v of views) {
    const idx = txIndex(v.chain);
    for (const [id, heights] of idx) {
      if (heights.length > 1) {
        duplicates++;
        violations.push(`${v.name}: tx ${id.slice(0, 10)} at heights ${heights.join(",")}`);
      }
    }
    for (const id of accepted) {
      const at = idx.get(id);
      if (at === undefined) violations.push(`${v.name}: accepted tx ${id.slice(0, 10)} not in its chain`);
    }
    const statuses = txStatus.get(v.name);
    if (statuses !== undefined) {
      for (const [id, s] of statuses) {
        const at = idx.get(id)?.[0];
        if (s.status !== "included")
          violations.push(`${v.name}: GET /txs/${id.slice(0, 10)} says ${s.status}`);
        else if (at !== undefined && (s.height !== at || s.blockHash !== v.chain.json[at - 1]!.hash))
          violations.push(
            `${v.name}: GET /txs/${id.slice(0, 10)} says height ${s.height}, chain has it at ${at}`,
          );
      }
    }
  }
  const knownIncluded = [...known].filter((id) => txIndex(views[0]!.chain).has(id)).length;
  return {
    name: "every transaction a node accepted (202) is included exactly once",
    held: violations.length === 0,
    detail:
      `${accepted.size} accepted ids, each exactly once in each of ${views.length} chains and reported ` +
      `included at that height by GET /txs/:id on every node; ${known.size} more whose 202 was lost ` +
      `(duplicate/nonce-used answers) — ${knownIncluded} included, none twice; ${duplicates} duplicate ids in any chain`,
    violations: violations.slice(0, 10),
  };
}

/**
 * Total supply: every account the node serves, summed at one head, equals genesis supply + block
 * reward × height − burned (slashing), burned taken from the offline replay at that head; and each
 * account equals the replayed one.
 */
export function checkSupply(genesis: Genesis, views: NodeView[], replays: Replay[]): InvariantResult {
  const genesisSupply = genesis.accounts.reduce((s, a) => s + a.balance + a.stake, 0n);
  const violations: string[] = [];
  const details: string[] = [];
  views.forEach((v, i) => {
    const r = replays[i]!;
    const h = v.snapshotHead.height;
    const state = r.states[h];
    if (state === undefined || r.hashes[h] !== v.snapshotHead.hash) {
      violations.push(
        `${v.name}: snapshot head ${h} ${v.snapshotHead.hash.slice(0, 10)} not in its replayed chain`,
      );
      return;
    }
    let served = 0n;
    for (const a of v.accounts.values()) {
      served += BigInt(a.balance) + BigInt(a.stake);
      for (const u of a.unbonding) served += BigInt(u.amount);
    }
    const expected = genesisSupply + genesis.blockReward * BigInt(h) - state.burned;
    if (served !== expected) {
      violations.push(
        `${v.name} at height ${h}: accounts sum to ${served}, expected ${expected} (burned ${state.burned})`,
      );
    }
    if (state.minted !== genesis.blockReward * BigInt(h))
      violations.push(`${v.name}: minted ${state.minted} at height ${h}`);
    if (totalSupply(state) !== expected)
      violations.push(`${v.name}: replayed supply ${totalSupply(state)} ≠ ${expected}`);
    let mismatched = 0;
    for (const [hex, acct] of state.accounts) {
      const addr = addressFromPublicKey(Uint8Array.from(Buffer.from(hex, "hex")));
      const s = v.accounts.get(addr);
      if (
        s === undefined ||
        BigInt(s.balance) !== acct.balance ||
        BigInt(s.stake) !== acct.stake ||
        s.nonce !== acct.nonce ||
        s.unbonding.length !== acct.unbonding.length
      ) {
        mismatched++;
        if (mismatched <= 2)
          violations.push(`${v.name}: account ${addr.slice(-8)} served ≠ replayed at height ${h}`);
      }
    }
    details.push(`${v.name}@${h}: ${served}`);
  });
  return {
    name: "total supply = genesis + rewards − slashing",
    held: violations.length === 0,
    detail:
      `genesis ${genesisSupply} + ${genesis.blockReward}/block; served sums (= expected, and every account = ` +
      `offline replay): ${details.join(", ")}`,
    violations,
  };
}

/** What the double signer did. */
export interface Equivocation {
  slot: number;
  /** Hashes of the two blocks. */
  a: string;
  b: string;
  /** When the double signer published them (ms). */
  at: number;
}

/**
 * Slashing: each equivocation whose two blocks some honest node holds has exactly one `evidence`
 * transaction on the chain; the cheater's stake and unbonding are zero on every node; it proposes no
 * block after the first evidence; burned equals what it had at stake; no honest validator is accused.
 */
export function checkSlashing(
  views: NodeView[],
  replays: Replay[],
  cheaterAddress: string,
  cheaterStake: bigint,
  equivocations: Equivocation[],
  seenBoth: Map<number, boolean>,
): InvariantResult {
  const violations: string[] = [];
  let evidenceCount = 0;
  views.forEach((v, i) => {
    const evidence = v.chain.json.flatMap((b) =>
      b.txs.filter((t) => t.kind === "evidence").map((t) => ({ t, height: b.height })),
    );
    evidenceCount = Math.max(evidenceCount, evidence.length);
    const offences = new Map<string, number>();
    for (const { t } of evidence) {
      if (t.headerA!.proposer !== cheaterAddress)
        violations.push(`${v.name}: evidence against ${t.headerA!.proposer}`);
      const key = `${t.headerA!.proposer}:${t.headerA!.slot}`;
      offences.set(key, (offences.get(key) ?? 0) + 1);
    }
    for (const [k, n] of offences)
      if (n !== 1) violations.push(`${v.name}: ${n} evidence txs for offence ${k}`);
    for (const e of equivocations) {
      if (seenBoth.get(e.slot) !== true) continue;
      if (offences.get(`${cheaterAddress}:${e.slot}`) !== 1)
        violations.push(`${v.name}: no evidence for the equivocation at slot ${e.slot}`);
    }
    const first = evidence[0]?.height;
    if (first !== undefined) {
      const after = v.chain.json.slice(first).filter((b) => b.proposer === cheaterAddress);
      if (after.length > 0)
        violations.push(`${v.name}: cheater proposed height ${after[0]!.height} after slashing`);
    }
    const acct = v.accounts.get(cheaterAddress);
    if (equivocations.some((e) => seenBoth.get(e.slot) === true)) {
      if (acct === undefined || acct.stake !== "0" || acct.unbonding.length !== 0)
        violations.push(
          `${v.name}: cheater still has stake ${acct?.stake} / ${acct?.unbonding.length} unbonding`,
        );
      const state = replays[i]!.states[v.snapshotHead.height];
      if (state !== undefined) {
        if (state.burned !== cheaterStake)
          violations.push(`${v.name}: burned ${state.burned}, cheater had ${cheaterStake}`);
        for (const e of equivocations)
          if (
            seenBoth.get(e.slot) === true &&
            !state.offences.has(offenceKey(publicKeyFromAddress(cheaterAddress), e.slot))
          )
            violations.push(`${v.name}: offence at slot ${e.slot} not recorded in state`);
      }
    }
  });
  return {
    name: "an equivocating validator is slashed exactly once per offence, on every node",
    held: violations.length === 0 && equivocations.length > 0,
    detail:
      equivocations.length === 0
        ? "the cheater never equivocated (never won a slot while running)"
        : `${equivocations.length} equivocation(s) at slot(s) ${equivocations.map((e) => e.slot).join(",")}; ` +
          `${evidenceCount} evidence tx on chain; cheater stake 0 and burned = its stake ${cheaterStake} on all ${views.length} nodes; ` +
          "no block by it after the evidence",
    violations,
  };
}
