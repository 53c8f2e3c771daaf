import { describe, expect, it } from "vitest";
import { applyBlock } from "../src/applyBlock.js";
import { encodeBlock } from "../src/blockCodec.js";
import { BlockError, BlockErrorCode } from "../src/blockError.js";
import { buildBlock } from "../src/buildBlock.js";
import { headerHash } from "../src/headerCodec.js";
import { SIGNED_HEADER_BYTES } from "../src/params.js";
import { isValidHeaderSignature } from "../src/signing.js";
import { getAccount } from "../src/state.js";
import { stateRoot } from "../src/stateRoot.js";
import { encodeTx, txId } from "../src/txCodec.js";
import { TxError, TxErrorCode } from "../src/txError.js";
import { txRoot } from "../src/txRoot.js";
import type { ChainConfig, SignedTx } from "../src/types.js";
import {
  bpm,
  buildOn,
  CONFIG,
  equivocation,
  evidence,
  expectError,
  GENESIS_HASH,
  genesisParent,
  key,
  pk,
  START_BALANCE,
  stake,
  transfer,
  winnerAt,
} from "./fixtures.js";

const validate = (block: ReturnType<typeof buildOn>["block"], config: ChainConfig = CONFIG) =>
  applyBlock({ config, parent: genesisParent(), block });

describe("buildBlock", () => {
  it("fills in a correct, signed header", () => {
    const parent = genesisParent();
    const txs = [transfer(key(4), pk(5), 3n, 0), bpm(key(5), 65, 0)];
    const built = buildOn(parent, 9, txs);
    const h = built.block.header;
    const w = winnerAt(parent, 9);
    expect(h).toMatchObject({ height: 1, slot: 9, parentHash: GENESIS_HASH, proposer: w.publicKey });
    expect(h.txRoot).toEqual(txRoot(txs.map(txId)));
    expect(h.stateRoot).toEqual(stateRoot(built.state));
    expect(isValidHeaderSignature(h, CONFIG.chainId)).toBe(true);
    expect(built.hash).toEqual(headerHash(h));
    expect(built.skipped).toEqual([]);
    expect(validate(built.block).hash).toEqual(built.hash);
  });

  it("skips invalid candidates, reports why, and the block still validates", () => {
    const t0 = transfer(key(4), pk(5), 10n, 0);
    const t1 = transfer(key(4), pk(5), 20n, 1);
    const bad: Array<[SignedTx, string]> = [
      [transfer(key(4), pk(5), 10n, 5), TxErrorCode.NONCE_TOO_HIGH],
      [t0, TxErrorCode.NONCE_TOO_LOW],
      [{ ...transfer(key(5), pk(4), 10n, 0), amount: 11n }, TxErrorCode.BAD_SIGNATURE],
      [transfer(key(5), pk(4), 0n, 0), TxErrorCode.ZERO_AMOUNT],
      [bpm(key(5), 0, 0), TxErrorCode.BPM_OUT_OF_RANGE],
      [transfer(key(5), pk(4), 2n * START_BALANCE, 0), TxErrorCode.INSUFFICIENT_BALANCE],
      [evidence(key(5), ...equivocation(key(1), 50), 0), TxErrorCode.EVIDENCE_FUTURE],
    ];
    const candidates = [t0, ...bad.map(([tx]) => tx), t1];
    const built = buildOn(genesisParent(), 3, candidates);
    expect(built.block.txs).toEqual([t0, t1]);
    expect(built.skipped.map((s) => s.tx)).toEqual(bad.map(([tx]) => tx));
    built.skipped.forEach((s, i) => {
      expect(s.error).toBeInstanceOf(TxError);
      expect((s.error as TxError).code).toBe(bad[i]![1]);
    });
    expect(validate(built.block).hash).toEqual(built.hash);
    expect(getAccount(built.state, pk(4)).nonce).toBe(2);
  });

  it("includes txs that depend on earlier txs of the same block", () => {
    // key(9) has no account until key(4) funds it.
    const fund = transfer(key(4), pk(9), 1000n, 0, 0n);
    const spend = stake(key(9), 900n, 0, 5n);
    const before = buildOn(genesisParent(), 1, [spend, fund]);
    expect(before.block.txs).toEqual([fund]);
    const after = buildOn(genesisParent(), 1, [fund, spend]);
    expect(after.block.txs).toEqual([fund, spend]);
    expect(getAccount(validate(after.block).state, pk(9))).toMatchObject({ balance: 95n, stake: 900n });
  });

  it("respects maxBlockTxs", () => {
    const config = { ...CONFIG, maxBlockTxs: 3 };
    const candidates = [0, 1, 2, 3, 4].map((n) => bpm(key(4), 60 + n, n));
    const parent = genesisParent();
    const built = buildBlock({ config, parent, slot: 1, key: winnerAt(parent, 1), candidates });
    expect(built.block.txs).toEqual(candidates.slice(0, 3));
    // The rest did not fit: they are left for a later block, not reported as failures.
    expect(built.skipped).toEqual([]);
    expect(applyBlock({ config, parent, block: built.block }).hash).toEqual(built.hash);
    const none = buildBlock({
      config: { ...config, maxBlockTxs: 0 },
      parent,
      slot: 1,
      key: winnerAt(parent, 1),
      candidates,
    });
    expect(none.block.txs).toEqual([]);
  });

  it("respects maxBlockBytes, still taking smaller candidates that fit", () => {
    const stakes = [0, 1, 2].map((n) => stake(key(4), 1n, n));
    const small = bpm(key(5), 70, 0);
    const big = evidence(key(5), ...equivocation(key(1), 1), 0);
    const stakeSize = 4 + encodeTx(stakes[0]!).length;
    const bpmSize = 4 + encodeTx(small).length;
    expect(bpmSize).toBeLessThan(stakeSize);
    // Room for two stakes and a bpm, but not for a third stake nor the evidence.
    const maxBlockBytes = SIGNED_HEADER_BYTES + 4 + 2 * stakeSize + bpmSize;
    const config = { ...CONFIG, maxBlockBytes };
    const parent = genesisParent();
    const built = buildBlock({
      config,
      parent,
      slot: 1,
      key: winnerAt(parent, 1),
      candidates: [...stakes, big, small],
    });
    expect(built.block.txs).toEqual([stakes[0], stakes[1], small]);
    expect(encodeBlock(built.block).length).toBe(maxBlockBytes);
    expect(applyBlock({ config, parent, block: built.block }).hash).toEqual(built.hash);
    // One byte less and the bpm no longer fits.
    const tighter = buildBlock({
      config: { ...config, maxBlockBytes: maxBlockBytes - 1 },
      parent,
      slot: 1,
      key: winnerAt(parent, 1),
      candidates: [...stakes, big, small],
    });
    expect(tighter.block.txs).toEqual([stakes[0], stakes[1]]);
  });

  it("leaves the parent state untouched", () => {
    const parent = genesisParent();
    const before = stateRoot(parent.state);
    buildOn(parent, 1, [transfer(key(4), pk(5), 10n, 0)]);
    expect(stateRoot(parent.state)).toEqual(before);
    expect(getAccount(parent.state, pk(4)).balance).toBe(START_BALANCE);
  });

  it("with candidatesVerified, trusts the caller: an unverified bad signature makes the block invalid", () => {
    const parent = genesisParent();
    const forged = { ...transfer(key(4), pk(5), 10n, 0), amount: 11n };
    const built = buildBlock({
      config: CONFIG,
      parent,
      slot: 1,
      key: winnerAt(parent, 1),
      candidates: [forged],
      candidatesVerified: true,
    });
    expect(built.block.txs).toEqual([forged]);
    const err = expectError(() => validate(built.block), BlockError, BlockErrorCode.INVALID_TX, "reject");
    expect(err.meta).toEqual({ index: 0, txCode: TxErrorCode.BAD_SIGNATURE });
  });
});
