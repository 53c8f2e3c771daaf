import { describe, expect, it } from "vitest";
import { applyBlock, isValidBlock, type ParentRef } from "../src/applyBlock.js";
import { decodeBlock, encodeBlock } from "../src/blockCodec.js";
import { BlockError, BlockErrorCode } from "../src/blockError.js";
import { buildBlock } from "../src/buildBlock.js";
import { equalBytes, utf8 } from "../src/bytes.js";
import { sha256 } from "../src/hash.js";
import { type KeyPair, verifyBytes } from "../src/keys.js";
import { blockSignatureChecks, signHeader } from "../src/signing.js";
import { slotStart } from "../src/slotClock.js";
import { type ChainState, getAccount, totalSupply } from "../src/state.js";
import { stateRoot } from "../src/stateRoot.js";
import { txId } from "../src/txCodec.js";
import { TxErrorCode } from "../src/txError.js";
import { txRoot } from "../src/txRoot.js";
import type { Block, BlockHeader, ChainConfig, SignedTx } from "../src/types.js";
import {
  bpm,
  buildOn,
  CONFIG,
  childRef,
  defaultState,
  expectError,
  genesisParent,
  key,
  makeState,
  pk,
  START_BALANCE,
  slotWhere,
  stake,
  transfer,
  unstake,
  VALIDATOR_COUNT,
  winnerAt,
} from "./fixtures.js";

function apply(parent: ParentRef, block: Block, config: ChainConfig = CONFIG, nowMs?: number) {
  return applyBlock({ config, parent, block, nowMs: nowMs ?? slotStart(config, block.header.slot) });
}

function expectBlockError(fn: () => unknown, code: string, verdict: "ignore" | "reject") {
  return expectError(fn, BlockError, code, verdict);
}

/** The block with its header changed and re-signed by `signer`. */
function resign(block: Block, signer: KeyPair, changes: Partial<BlockHeader>): Block {
  return { ...block, header: signHeader({ ...block.header, ...changes }, signer, CONFIG.chainId) };
}

/** A block of `txs` with a correct tx root, signed by the slot's winner, with any state root. */
function forge(
  parent: ParentRef,
  slot: number,
  txs: SignedTx[],
  root: Uint8Array = sha256(utf8("x")),
): Block {
  const winner = winnerAt(parent, slot);
  const header = signHeader(
    {
      height: parent.height + 1,
      slot,
      parentHash: parent.hash,
      proposer: winner.publicKey,
      txRoot: txRoot(txs.map(txId)),
      stateRoot: root,
    },
    winner,
    CONFIG.chainId,
  );
  return { header, txs };
}

const someTxs = () => [
  transfer(key(4), pk(5), 10n, 0, 3n),
  bpm(key(5), 80, 0, 2n),
  stake(key(4), 100n, 1, 1n),
];

describe("a built block", () => {
  it("validates, with the same hash and post-state", () => {
    const parent = genesisParent();
    const built = buildOn(parent, 1, someTxs());
    expect(built.block.txs).toHaveLength(3);
    const applied = apply(parent, built.block);
    expect(applied.hash).toEqual(built.hash);
    expect(stateRoot(applied.state)).toEqual(stateRoot(built.state));
    expect(stateRoot(applied.state)).toEqual(built.block.header.stateRoot);
    expect(isValidBlock({ config: CONFIG, parent, block: built.block })).toBe(true);
  });

  it("validates after a trip over the wire, with the encoded size passed in", () => {
    const parent = genesisParent();
    const built = buildOn(parent, 3, someTxs());
    const bytes = encodeBlock(built.block);
    const block = decodeBlock(bytes, CONFIG.maxBlockBytes);
    const applied = applyBlock({ config: CONFIG, parent, block, encodedSize: bytes.length });
    expect(applied.hash).toEqual(built.hash);
  });

  it("returns the caller's header hash as the block's id instead of hashing again", () => {
    const parent = genesisParent();
    const built = buildOn(parent, 3, someTxs());
    const given = Uint8Array.from(built.hash);
    const applied = applyBlock({ config: CONFIG, parent, block: built.block, hash: given });
    expect(applied.hash).toBe(given);
    expect(applied.hash).toEqual(built.hash);
  });

  it("validates without a clock (replay from the store)", () => {
    const parent = genesisParent();
    const built = buildOn(parent, 1_000_000);
    expect(applyBlock({ config: CONFIG, parent, block: built.block }).hash).toEqual(built.hash);
  });

  it("chains: each block validates on the previous one", () => {
    let parent = genesisParent();
    let nonce = 0;
    for (let i = 0; i < 6; i++) {
      const slot = parent.slot + 1 + (i % 3);
      const built = buildOn(parent, slot, [transfer(key(4), pk(5), 1n, nonce++)]);
      const applied = apply(parent, built.block);
      expect(applied.hash).toEqual(built.hash);
      expect(built.block.header.height).toBe(i + 1);
      parent = childRef(built);
    }
    expect(getAccount(parent.state, pk(4)).nonce).toBe(6);
  });
});

describe("applyBlock rules", () => {
  const parent = genesisParent();
  const slot = 2;
  const built = buildOn(parent, slot, someTxs());
  const winner = winnerAt(parent, slot);

  it("TOO_MANY_TXS (reject)", () => {
    expect(() => apply(parent, built.block, { ...CONFIG, maxBlockTxs: 3 })).not.toThrow();
    const err = expectBlockError(
      () => apply(parent, built.block, { ...CONFIG, maxBlockTxs: 2 }),
      BlockErrorCode.TOO_MANY_TXS,
      "reject",
    );
    expect(err.message).toMatch("3 txs exceed the limit 2");
  });

  it("TOO_LARGE (reject), also from a caller-supplied size", () => {
    const size = encodeBlock(built.block).length;
    expect(() => apply(parent, built.block, { ...CONFIG, maxBlockBytes: size })).not.toThrow();
    expectBlockError(
      () => apply(parent, built.block, { ...CONFIG, maxBlockBytes: size - 1 }),
      BlockErrorCode.TOO_LARGE,
      "reject",
    );
    expectBlockError(
      () => applyBlock({ config: CONFIG, parent, block: built.block, encodedSize: CONFIG.maxBlockBytes + 1 }),
      BlockErrorCode.TOO_LARGE,
      "reject",
    );
  });

  it("UNKNOWN_PARENT (ignore)", () => {
    const other: ParentRef = { ...parent, hash: sha256(utf8("another parent")) };
    expectBlockError(() => apply(other, built.block), BlockErrorCode.UNKNOWN_PARENT, "ignore");
    const orphan = resign(built.block, winner, { parentHash: new Uint8Array(32) });
    expectBlockError(() => apply(parent, orphan), BlockErrorCode.UNKNOWN_PARENT, "ignore");
  });

  it("WRONG_HEIGHT (reject)", () => {
    for (const height of [0, 2, 100]) {
      const err = expectBlockError(
        () => apply(parent, resign(built.block, winner, { height })),
        BlockErrorCode.WRONG_HEIGHT,
        "reject",
      );
      expect(err.meta).toMatchObject({ height, expected: 1 });
    }
  });

  it("SLOT_NOT_AFTER_PARENT (reject)", () => {
    const later: ParentRef = { ...parent, slot: 5 };
    for (const s of [5, 4, 0]) {
      const block = buildOn(later, s).block;
      expectBlockError(
        () => apply(later, block, CONFIG, slotStart(CONFIG, 10)),
        BlockErrorCode.SLOT_NOT_AFTER_PARENT,
        "reject",
      );
    }
    expect(() => apply(later, buildOn(later, 6).block)).not.toThrow();
  });

  it("FUTURE_SLOT beyond 500 ms of clock disparity (ignore); up to 500 ms early is accepted", () => {
    const start = slotStart(CONFIG, slot);
    expect(() => apply(parent, built.block, CONFIG, start - 400)).not.toThrow();
    expect(() => apply(parent, built.block, CONFIG, start - 500)).not.toThrow();
    expect(() => apply(parent, built.block, CONFIG, start + 10 * CONFIG.slotMs)).not.toThrow();
    const err = expectBlockError(
      () => apply(parent, built.block, CONFIG, start - 501),
      BlockErrorCode.FUTURE_SLOT,
      "ignore",
    );
    expect(err.meta).toMatchObject({ slot, current: slot - 1 });
    expectBlockError(
      () => apply(parent, built.block, CONFIG, start - 5000),
      BlockErrorCode.FUTURE_SLOT,
      "ignore",
    );
    // Before genesis no slot has begun.
    expectBlockError(
      () => apply(parent, built.block, CONFIG, CONFIG.genesisTime - 10_000),
      BlockErrorCode.FUTURE_SLOT,
      "ignore",
    );
  });

  it("WRONG_PROPOSER (reject): another validator, or a non-validator", () => {
    for (let i = 0; i < 6; i++) {
      if (key(i) === winner) continue;
      const block = buildBlock({ config: CONFIG, parent, slot, key: key(i), candidates: [] }).block;
      const err = expectBlockError(() => apply(parent, block), BlockErrorCode.WRONG_PROPOSER, "reject");
      expect(err.meta).toMatchObject({ slot });
    }
    // The winner's block claimed by someone else (proposer field swapped, signed by that someone).
    const other = key(winner === key(0) ? 1 : 0);
    expectBlockError(
      () => apply(parent, resign(built.block, other, { proposer: other.publicKey })),
      BlockErrorCode.WRONG_PROPOSER,
      "reject",
    );
  });

  it("NO_VALIDATORS (reject) when nobody holds the minimum stake", () => {
    const broke = genesisParent(makeState([{ key: 0, balance: 100n, stake: CONFIG.minStake - 1n }]));
    const block = buildBlock({ config: CONFIG, parent: broke, slot: 1, key: key(0), candidates: [] }).block;
    expectBlockError(() => apply(broke, block), BlockErrorCode.NO_VALIDATORS, "reject");
  });

  it("BAD_SIGNATURE (reject)", () => {
    const sig = Uint8Array.from(built.block.header.signature);
    sig[5] = sig[5]! ^ 0x40;
    const flipped = { ...built.block, header: { ...built.block.header, signature: sig } };
    expectBlockError(() => apply(parent, flipped), BlockErrorCode.BAD_SIGNATURE, "reject");
    // Signed by the winner, but for another chain.
    const foreign = { ...built.block, header: signHeader(built.block.header, winner, "other-chain") };
    expectBlockError(() => apply(parent, foreign), BlockErrorCode.BAD_SIGNATURE, "reject");
    // The winner named as proposer but signed by another key.
    const other = key(winner === key(0) ? 1 : 0);
    expectBlockError(
      () => apply(parent, resign(built.block, other, {})),
      BlockErrorCode.BAD_SIGNATURE,
      "reject",
    );
  });

  it("BAD_TX_ROOT (reject): txs dropped, added or reordered", () => {
    const txs = built.block.txs;
    for (const changed of [txs.slice(1), [...txs, bpm(key(5), 60, 1)], [txs[1]!, txs[0]!, txs[2]!], []]) {
      expectBlockError(
        () => apply(parent, { ...built.block, txs: changed }),
        BlockErrorCode.BAD_TX_ROOT,
        "reject",
      );
    }
  });

  it("INVALID_TX (reject) names the index and the tx error", () => {
    const good = transfer(key(4), pk(5), 10n, 0);
    const cases: Array<[SignedTx[], number, string]> = [
      [[good, transfer(key(4), pk(5), 10n, 2)], 1, TxErrorCode.NONCE_TOO_HIGH],
      [[good, good], 1, TxErrorCode.NONCE_TOO_LOW],
      [[transfer(key(4), pk(5), START_BALANCE, 0)], 0, TxErrorCode.INSUFFICIENT_BALANCE],
      [[good, unstake(key(4), 1n, 1)], 1, TxErrorCode.INSUFFICIENT_STAKE],
      [[good, { ...bpm(key(5), 60, 0), bpm: 61 }], 1, TxErrorCode.BAD_SIGNATURE],
      [[transfer(key(4), pk(5), 0n, 0)], 0, TxErrorCode.ZERO_AMOUNT],
      [[good, bpm(key(5), 60, 0), bpm(key(5), 301, 1)], 2, TxErrorCode.BPM_OUT_OF_RANGE],
    ];
    for (const [txs, index, txCode] of cases) {
      const err = expectBlockError(
        () => apply(parent, forge(parent, slot, txs)),
        BlockErrorCode.INVALID_TX,
        "reject",
      );
      expect(err.meta, txCode).toEqual({ index, txCode });
      expect(err.message).toMatch(`tx ${index}: `);
    }
  });

  it("BAD_STATE_ROOT (reject)", () => {
    const bad = resign(built.block, winner, { stateRoot: stateRoot(parent.state) });
    expectBlockError(() => apply(parent, bad), BlockErrorCode.BAD_STATE_ROOT, "reject");
    // A forged block whose txs are all fine but whose root is made up.
    expectBlockError(
      () => apply(parent, forge(parent, slot, someTxs())),
      BlockErrorCode.BAD_STATE_ROOT,
      "reject",
    );
    // The same forged block with the right root passes.
    const right = forge(parent, slot, someTxs(), built.block.header.stateRoot);
    expect(apply(parent, right).hash).toEqual(built.hash);
  });
});

describe("rewards and fees", () => {
  it("the proposer earns the block reward plus the fees; only the reward is new supply", () => {
    const parent = genesisParent();
    const txs = someTxs();
    const built = buildOn(parent, 1, txs);
    const proposer = built.block.header.proposer;
    const { state } = apply(parent, built.block);
    const fees = txs.reduce((sum, tx) => sum + tx.fee, 0n);
    expect(getAccount(state, proposer).balance).toBe(
      getAccount(parent.state, proposer).balance + CONFIG.blockReward + fees,
    );
    expect(state.minted).toBe(CONFIG.blockReward);
    expect(totalSupply(state)).toBe(totalSupply(parent.state) + CONFIG.blockReward);
  });

  it("a proposer paying fees in its own block gets them back", () => {
    const parent = genesisParent();
    const w = winnerAt(parent, 1);
    const built = buildOn(parent, 1, [bpm(w, 70, 0, 7n)]);
    const before = getAccount(parent.state, w.publicKey);
    expect(getAccount(apply(parent, built.block).state, w.publicKey)).toEqual({
      ...before,
      balance: before.balance + CONFIG.blockReward,
      nonce: 1,
    });
  });

  it("an empty block still mints the reward", () => {
    const parent = genesisParent();
    const built = buildOn(parent, 4);
    const { state } = apply(parent, built.block);
    expect(state.minted).toBe(CONFIG.blockReward);
    expect(getAccount(state, built.block.header.proposer).balance).toBe(START_BALANCE + CONFIG.blockReward);
  });
});

describe("unbonding release", () => {
  const releaseSlot = 7;
  const state = (): ChainState => {
    const s = defaultState();
    const accounts = new Map(s.accounts);
    const base = makeState([
      {
        key: 4,
        balance: 0n,
        unbonding: [
          { amount: 500n, releaseSlot },
          { amount: 30n, releaseSlot: releaseSlot + 1 },
        ],
      },
    ]);
    for (const [k, v] of base.accounts) accounts.set(k, v);
    return { ...s, accounts };
  };

  it("happens exactly at releaseSlot, not before", () => {
    const parent = genesisParent(state());
    const before = apply(parent, buildOn(parent, releaseSlot - 1).block).state;
    expect(getAccount(before, pk(4))).toMatchObject({
      balance: 0n,
      unbonding: [{ amount: 500n, releaseSlot }, { amount: 30n }],
    });
    const at = apply(parent, buildOn(parent, releaseSlot).block).state;
    expect(getAccount(at, pk(4))).toMatchObject({
      balance: 500n,
      unbonding: [{ amount: 30n, releaseSlot: releaseSlot + 1 }],
    });
    const after = apply(parent, buildOn(parent, releaseSlot + 1).block).state;
    expect(getAccount(after, pk(4))).toMatchObject({ balance: 530n, unbonding: [] });
    for (const s of [before, at, after])
      expect(totalSupply(s)).toBe(totalSupply(parent.state) + CONFIG.blockReward);
  });

  it("released funds are spendable by txs of the same block", () => {
    const parent = genesisParent(state());
    const spend = transfer(key(4), pk(5), 499n, 0, 1n);
    expectBlockError(
      () => apply(parent, forge(parent, releaseSlot - 1, [spend])),
      BlockErrorCode.INVALID_TX,
      "reject",
    );
    const built = buildOn(parent, releaseSlot, [spend]);
    expect(built.block.txs).toHaveLength(1);
    expect(getAccount(apply(parent, built.block).state, pk(4)).balance).toBe(0n);
  });

  it("an unstake is released unbondingDelay slots after the block that holds it", () => {
    let parent = genesisParent();
    const validator = key(0);
    const s1 = slotWhere(parent, (w) => w !== validator);
    const b1 = buildOn(parent, s1, [unstake(validator, 400n, 0, 0n)]);
    apply(parent, b1.block);
    parent = childRef(b1);
    expect(getAccount(parent.state, pk(0)).unbonding).toEqual([
      { amount: 400n, releaseSlot: s1 + CONFIG.unbondingDelay },
    ]);
    const b2 = buildOn(parent, s1 + CONFIG.unbondingDelay - 1);
    const early = apply(parent, b2.block).state;
    expect(getAccount(early, pk(0)).unbonding).toHaveLength(1);
    const b3 = buildOn(parent, s1 + CONFIG.unbondingDelay);
    const released = apply(parent, b3.block).state;
    const reward = equalBytes(b3.block.header.proposer, pk(0)) ? CONFIG.blockReward : 0n;
    const expected = getAccount(parent.state, pk(0)).balance + 400n + reward;
    expect(getAccount(released, pk(0))).toMatchObject({ unbonding: [], balance: expected, stake: 600n });
  });
});

describe("lottery eligibility as applyBlock sees it", () => {
  it("only validators with stake ≥ minStake enter the lottery", () => {
    // key(0) holds minStake - 1: never drawn, whatever the slot.
    const parent = genesisParent(
      makeState([
        { key: 0, balance: 1n, stake: CONFIG.minStake - 1n },
        { key: 1, balance: 1n, stake: CONFIG.minStake },
      ]),
    );
    for (let s = 1; s <= 20; s++) expect(winnerAt(parent, s)).toBe(key(1));
  });

  it("every validator wins some slot (the lottery is not stuck)", () => {
    const parent = genesisParent();
    const winners = new Set<KeyPair>();
    for (let s = 1; s <= 200; s++) winners.add(winnerAt(parent, s));
    expect(winners.size).toBe(VALIDATOR_COUNT);
  });
});

describe("applyBlock with signaturesVerified", () => {
  const parent = genesisParent();
  const slot = 2;
  const built = buildOn(parent, slot, someTxs());
  const verified = (block: Block) =>
    applyBlock({
      config: CONFIG,
      parent,
      block,
      nowMs: slotStart(CONFIG, block.header.slot),
      signaturesVerified: true,
    });

  it("lists the checks it skips: the header's signature, then each transaction's", () => {
    const checks = blockSignatureChecks(built.block, CONFIG.chainId);
    expect(checks).toHaveLength(1 + built.block.txs.length);
    expect(checks.every((c) => verifyBytes(c.publicKey, c.message, c.signature))).toBe(true);
    expect(checks[0]!.publicKey).toEqual(built.block.header.proposer);
    expect(checks.slice(1).map((c) => c.publicKey)).toEqual(built.block.txs.map((t) => t.from));
  });

  it("validates the same block to the same result, with the tx ids it computed", () => {
    const a = verified(built.block);
    expect(a.hash).toEqual(built.hash);
    expect(stateRoot(a.state)).toEqual(built.block.header.stateRoot);
    expect(a.txIds).toEqual(built.block.txs.map(txId));
  });

  it("skips only the Ed25519 calls: proposer, roots and nonces are still checked", () => {
    // A flipped header signature is not looked at (the caller vouched for it) ...
    const sig = Uint8Array.from(built.block.header.signature);
    sig[5] = sig[5]! ^ 0x40;
    expect(
      verified({ ...built.block, header: { ...built.block.header, signature: sig } }).hash,
    ).toBeDefined();
    // ... but everything else is.
    const other = key(winnerAt(parent, slot) === key(0) ? 1 : 0);
    expectBlockError(
      () => verified(resign(built.block, other, { proposer: other.publicKey })),
      BlockErrorCode.WRONG_PROPOSER,
      "reject",
    );
    expectBlockError(
      () => verified({ ...built.block, txs: built.block.txs.slice(1) }),
      BlockErrorCode.BAD_TX_ROOT,
      "reject",
    );
    const good = transfer(key(4), pk(5), 10n, 0);
    const err = expectBlockError(
      () => verified(forge(parent, slot, [good, good])),
      BlockErrorCode.INVALID_TX,
      "reject",
    );
    expect(err.meta).toEqual({ index: 1, txCode: TxErrorCode.NONCE_TOO_LOW });
    expectBlockError(
      () => verified(resign(built.block, winnerAt(parent, slot), { stateRoot: stateRoot(parent.state) })),
      BlockErrorCode.BAD_STATE_ROOT,
      "reject",
    );
  });
});
