import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyBlock, type ParentRef } from "../src/applyBlock.js";
import { toHex } from "../src/bytes.js";
import { lotteryWinner } from "../src/lottery.js";
import { MAX_AMOUNT } from "../src/params.js";
import { slotStart } from "../src/slotClock.js";
import { type ChainState, getAccount, totalSupply } from "../src/state.js";
import { stateRoot } from "../src/stateRoot.js";
import type { Account, Block, SignedTx } from "../src/types.js";
import { unbondingHolders } from "../src/unbondingHolders.js";
import {
  bpm,
  buildOn,
  CONFIG,
  defaultState,
  equivocation,
  evidence,
  genesisParent,
  key,
  makeState,
  pk,
  START_BALANCE,
  START_STAKE,
  stake,
  transfer,
  unstake,
} from "./fixtures.js";

/** Senders 0..7: 0..3 validators, 4..5 funded, 6..7 start empty (funded only by transfers). */
const SENDERS = 8;
/** Recipients include two keys that never send. */
const RECIPIENTS = 10;

interface Intent {
  readonly kind: "transfer" | "stake" | "unstake" | "bpm" | "evidence";
  readonly from: number;
  readonly to: number;
  readonly amount: bigint;
  readonly fee: bigint;
  /** Added to the sender's expected nonce: mostly 0, sometimes off by one (stale or early). */
  readonly nonceDelta: number;
  readonly bpm: number;
  readonly badSignature: boolean;
  readonly offender: number;
  /** Evidence slot relative to the block's slot (positive: from the future). */
  readonly slotOffset: number;
}

const intentArb: fc.Arbitrary<Intent> = fc.record({
  kind: fc.oneof(
    { arbitrary: fc.constant("transfer" as const), weight: 5 },
    { arbitrary: fc.constant("stake" as const), weight: 3 },
    { arbitrary: fc.constant("unstake" as const), weight: 3 },
    { arbitrary: fc.constant("bpm" as const), weight: 2 },
    { arbitrary: fc.constant("evidence" as const), weight: 1 },
  ),
  from: fc.integer({ min: 0, max: SENDERS - 1 }),
  to: fc.integer({ min: 0, max: RECIPIENTS - 1 }),
  amount: fc.oneof(
    { arbitrary: fc.bigInt({ min: 0n, max: 2_000n }), weight: 6 },
    { arbitrary: fc.bigInt({ min: 0n, max: 2n * START_BALANCE }), weight: 2 },
    { arbitrary: fc.constantFrom(0n, START_BALANCE, MAX_AMOUNT), weight: 1 },
  ),
  fee: fc.oneof(fc.bigInt({ min: 0n, max: 20n }), fc.constant(0n)),
  nonceDelta: fc.oneof(
    { arbitrary: fc.constant(0), weight: 8 },
    { arbitrary: fc.constantFrom(-1, 1, 2), weight: 1 },
  ),
  bpm: fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: 300 }), weight: 4 },
    { arbitrary: fc.constantFrom(0, 301, 999), weight: 1 },
  ),
  badSignature: fc.oneof(
    { arbitrary: fc.constant(false), weight: 15 },
    { arbitrary: fc.constant(true), weight: 1 },
  ),
  offender: fc.integer({ min: 0, max: SENDERS - 1 }),
  slotOffset: fc.integer({ min: -4, max: 1 }),
});

interface BlockPlan {
  readonly gap: number;
  readonly intents: readonly Intent[];
}

const planArb: fc.Arbitrary<BlockPlan[]> = fc.array(
  fc.record({ gap: fc.integer({ min: 1, max: 3 }), intents: fc.array(intentArb, { maxLength: 12 }) }),
  { minLength: 1, maxLength: 8 },
);

function toTx(intent: Intent, nonce: number, slot: number): SignedTx {
  const from = key(intent.from);
  const n = Math.max(0, nonce + intent.nonceDelta);
  let tx: SignedTx;
  switch (intent.kind) {
    case "transfer":
      tx = transfer(from, pk(intent.to), intent.amount, n, intent.fee);
      break;
    case "stake":
      tx = stake(from, intent.amount, n, intent.fee);
      break;
    case "unstake":
      tx = unstake(from, intent.amount, n, intent.fee);
      break;
    case "bpm":
      tx = bpm(from, intent.bpm, n, intent.fee);
      break;
    case "evidence":
      tx = evidence(
        from,
        ...equivocation(key(intent.offender), Math.max(0, slot + intent.slotOffset)),
        n,
        intent.fee,
      );
      break;
  }
  if (intent.badSignature) {
    const signature = Uint8Array.from(tx.signature);
    signature[0] = signature[0]! ^ 1;
    tx = { ...tx, signature };
  }
  return tx;
}

interface RunResult {
  readonly blocks: Block[];
  readonly roots: Uint8Array[];
  readonly included: number;
  readonly skipped: number;
  /** Tokens burned by slashing along the chain. */
  readonly burned: bigint;
}

const GENESIS_SUPPLY = totalSupply(defaultState());

/**
 * Builds a chain from a plan: each block's slot is the parent's plus the gap, its proposer the lottery
 * winner, its candidates the plan's intents turned into signed txs. Every block is validated with
 * applyBlock and the supply invariant is checked after each.
 */
function runPlan(plan: readonly BlockPlan[]): RunResult {
  let parent: ParentRef = genesisParent();
  const blocks: Block[] = [];
  const roots: Uint8Array[] = [];
  let included = 0;
  let skipped = 0;
  let burned = 0n;
  for (const { gap, intents } of plan) {
    const slot = parent.slot + gap;
    if (lotteryWinner(parent.state, parent.hash, slot, CONFIG.minStake) === undefined) break;
    const nonces = new Map<number, number>();
    const candidates = intents.map((intent) => {
      const nonce = nonces.get(intent.from) ?? getAccount(parent.state, pk(intent.from)).nonce;
      nonces.set(intent.from, nonce + 1);
      return toTx(intent, nonce, slot);
    });
    const built = buildOn(parent, slot, candidates);
    included += built.block.txs.length;
    skipped += built.skipped.length;
    const applied = applyBlock({
      config: CONFIG,
      parent,
      block: built.block,
      nowMs: slotStart(CONFIG, slot),
    });
    expect(applied.hash).toEqual(built.hash);
    const state = applied.state;
    expect(stateRoot(state)).toEqual(built.block.header.stateRoot);
    blocks.push(built.block);
    roots.push(stateRoot(state));

    // The supply invariant, after every block.
    expect(totalSupply(state)).toBe(GENESIS_SUPPLY + state.minted - state.burned);
    expect(state.minted).toBe(CONFIG.blockReward * BigInt(blocks.length));
    for (const a of state.accounts.values()) assertAccountInRange(a);
    // The holders of unbonding entries, inherited block to block, are exactly those a full scan finds.
    const scanned = [...state.accounts].filter(([, a]) => a.unbonding.length > 0).map(([hex]) => hex);
    expect([...unbondingHolders(state)].sort()).toEqual(scanned.sort());

    burned = state.burned;
    parent = { hash: applied.hash, height: built.block.header.height, slot, state };
  }
  return { blocks, roots, included, skipped, burned };
}

function assertAccountInRange(a: Account): void {
  expect(a.balance >= 0n && a.balance <= MAX_AMOUNT).toBe(true);
  expect(a.stake >= 0n && a.stake <= MAX_AMOUNT).toBe(true);
  for (const u of a.unbonding) expect(u.amount > 0n).toBe(true);
  expect(Number.isSafeInteger(a.nonce) && a.nonce >= 0).toBe(true);
}

/** Re-applies `blocks` from a freshly built genesis state, returning each post-state root. */
function replay(blocks: readonly Block[]): Uint8Array[] {
  let parent: ParentRef = genesisParent(defaultState());
  const roots: Uint8Array[] = [];
  for (const block of blocks) {
    const { hash, state } = applyBlock({ config: CONFIG, parent, block });
    roots.push(stateRoot(state));
    parent = { hash, height: block.header.height, slot: block.header.slot, state };
  }
  return roots;
}

describe("chain properties", () => {
  it("total supply = genesis supply + minted - burned after every block; minted = reward × blocks", () => {
    let included = 0;
    let skipped = 0;
    let burnedRuns = 0;
    fc.assert(
      fc.property(planArb, (plan) => {
        // runPlan checks the invariant after every block.
        const r = runPlan(plan);
        included += r.included;
        skipped += r.skipped;
        if (r.burned > 0n) burnedRuns++;
      }),
      { numRuns: 80 },
    );
    // The random mix is neither all-valid nor all-invalid, and slashing happens.
    expect(included).toBeGreaterThan(100);
    expect(skipped).toBeGreaterThan(50);
    expect(burnedRuns).toBeGreaterThan(0);
  });

  it("the same blocks applied twice from the same start give the same state roots", () => {
    fc.assert(
      fc.property(planArb, (plan) => {
        const { blocks, roots } = runPlan(plan);
        const first = replay(blocks);
        const second = replay(blocks);
        expect(first).toEqual(roots);
        expect(second).toEqual(first);
      }),
      { numRuns: 25 },
    );
  });

  it("a fixed run with slashing keeps the invariant and replays identically", () => {
    // A fixed plan: key 4 reports an equivocation of validator 1 in the first block.
    const plan: BlockPlan[] = [
      {
        gap: 2,
        intents: [
          {
            kind: "evidence",
            from: 4,
            to: 0,
            amount: 0n,
            fee: 1n,
            nonceDelta: 0,
            bpm: 60,
            badSignature: false,
            offender: 1,
            slotOffset: -1,
          },
        ],
      },
      { gap: 1, intents: [] },
    ];
    const { blocks, roots, burned } = runPlan(plan);
    expect(blocks[0]!.txs).toHaveLength(1);
    expect(burned).toBe(START_STAKE);
    expect(replay(blocks)).toEqual(roots);
  });
});

describe("stateRoot properties", () => {
  const accountArb: fc.Arbitrary<Account> = fc.record({
    balance: fc.bigInt({ min: 0n, max: MAX_AMOUNT }),
    stake: fc.bigInt({ min: 0n, max: MAX_AMOUNT }),
    nonce: fc.nat(),
    unbonding: fc.array(
      fc.record({ amount: fc.bigInt({ min: 1n, max: MAX_AMOUNT }), releaseSlot: fc.nat() }),
      { maxLength: 3 },
    ),
  });
  const entriesArb = fc.uniqueArray(
    fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex), accountArb),
    { maxLength: 20, selector: ([hex]) => hex },
  );
  const offencesArb = fc.uniqueArray(
    fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat()).map(([k, s]) => `${toHex(k)}:${s}`),
    { maxLength: 5 },
  );
  const scenarioArb = fc
    .tuple(entriesArb, offencesArb, fc.bigInt({ min: 0n, max: MAX_AMOUNT }))
    .chain(([entries, offences, minted]) =>
      fc.tuple(
        fc.constant({ entries, offences, minted }),
        fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }),
        fc.shuffledSubarray(offences, { minLength: offences.length, maxLength: offences.length }),
      ),
    );

  it("is independent of Map and Set insertion order", () => {
    fc.assert(
      fc.property(scenarioArb, ([{ entries, offences, minted }, shuffledEntries, shuffledOffences]) => {
        const a: ChainState = { accounts: new Map(entries), offences: new Set(offences), minted, burned: 1n };
        // Same data, fresh objects (so no cache is shared), other insertion order.
        const b: ChainState = {
          accounts: new Map(shuffledEntries.map(([k, v]) => [k, { ...v, unbonding: [...v.unbonding] }])),
          offences: new Set(shuffledOffences),
          minted,
          burned: 1n,
        };
        expect(stateRoot(b)).toEqual(stateRoot(a));
      }),
      { numRuns: 300 },
    );
  });

  it("distinguishes states that differ in one account", () => {
    fc.assert(
      fc.property(entriesArb, accountArb, (entries, other) => {
        fc.pre(entries.length > 0);
        const [hex, acc] = entries[0]!;
        fc.pre(
          other.balance !== acc.balance ||
            other.stake !== acc.stake ||
            other.nonce !== acc.nonce ||
            other.unbonding.length !== acc.unbonding.length,
        );
        const s = makeState([]);
        const a: ChainState = { ...s, accounts: new Map(entries) };
        const b: ChainState = { ...s, accounts: new Map([...entries.slice(1), [hex, other]]) };
        expect(stateRoot(b)).not.toEqual(stateRoot(a));
      }),
      { numRuns: 200 },
    );
  });
});
