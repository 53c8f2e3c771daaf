/**
 * Shared test fixtures for the core tests: deterministic keys, a hand-built chain config and state
 * (no dependency on genesis.ts), transaction and header builders, and a helper asserting typed errors.
 */
import { expect } from "vitest";
import type { ParentRef } from "../src/applyBlock.js";
import { type BuiltBlock, buildBlock } from "../src/buildBlock.js";
import { toHex, utf8 } from "../src/bytes.js";
import type { CardioError } from "../src/errors.js";
import { sha256 } from "../src/hash.js";
import { type KeyPair, keyPairFromSeed } from "../src/keys.js";
import { lotteryWinner } from "../src/lottery.js";
import { signHeader, signTx } from "../src/signing.js";
import type { ChainState } from "../src/state.js";
import type {
  Account,
  BlockHeader,
  ChainConfig,
  PublicKey,
  SignedHeader,
  SignedTx,
  TxBody,
  Unbonding,
} from "../src/types.js";

export const CHAIN_ID = "test-chain";

export const CONFIG: ChainConfig = Object.freeze({
  chainId: CHAIN_ID,
  genesisTime: 1_700_000_000_000,
  slotMs: 1000,
  blockReward: 10n,
  minStake: 100n,
  unbondingDelay: 5,
  maxBlockTxs: 50,
  maxBlockBytes: 64 * 1024,
});

/** Number of deterministic keys the fixtures know about (winners are looked up among them). */
export const KEY_COUNT = 16;

const keyCache = new Map<number, KeyPair>();

/** The i-th deterministic test key: `keyPairFromSeed(sha256(utf8("test-" + i)))`. */
export function key(i: number): KeyPair {
  let k = keyCache.get(i);
  if (k === undefined) {
    k = keyPairFromSeed(sha256(utf8(`test-${i}`)));
    keyCache.set(i, k);
  }
  return k;
}

export function pk(i: number): PublicKey {
  return key(i).publicKey;
}

/** The known key whose public key is `publicKey` (throws when unknown). */
export function keyOf(publicKey: PublicKey | string): KeyPair {
  const hex = typeof publicKey === "string" ? publicKey : toHex(publicKey);
  for (let i = 0; i < KEY_COUNT; i++) if (toHex(pk(i)) === hex) return key(i);
  throw new Error(`unknown test key ${hex}`);
}

export interface AccountSpec {
  readonly key: number | PublicKey;
  readonly balance?: bigint;
  readonly stake?: bigint;
  readonly nonce?: number;
  readonly unbonding?: readonly Unbonding[];
}

export function account(spec: Omit<AccountSpec, "key">): Account {
  return {
    balance: spec.balance ?? 0n,
    stake: spec.stake ?? 0n,
    unbonding: spec.unbonding ?? [],
    nonce: spec.nonce ?? 0,
  };
}

/** A state holding exactly the given accounts. */
export function makeState(
  specs: readonly AccountSpec[],
  extra: Partial<Omit<ChainState, "accounts">> = {},
): ChainState {
  const accounts = new Map<string, Account>();
  for (const s of specs) {
    const publicKey = typeof s.key === "number" ? pk(s.key) : s.key;
    accounts.set(toHex(publicKey), account(s));
  }
  return {
    accounts,
    offences: extra.offences ?? new Set(),
    minted: extra.minted ?? 0n,
    burned: extra.burned ?? 0n,
  };
}

export const VALIDATOR_COUNT = 4;
export const START_BALANCE = 1_000_000n;
export const START_STAKE = 1_000n;

/** Keys 0..3 are validators (stake 1000), keys 4..5 are funded non-validators; all hold 1,000,000. */
export function defaultState(): ChainState {
  const specs: AccountSpec[] = [];
  for (let i = 0; i < VALIDATOR_COUNT; i++)
    specs.push({ key: i, balance: START_BALANCE, stake: START_STAKE });
  specs.push({ key: 4, balance: START_BALANCE }, { key: 5, balance: START_BALANCE });
  return makeState(specs);
}

export const GENESIS_HASH = sha256(utf8("cardio-test-genesis"));

/** A stand-in for block 0 holding `state`. */
export function genesisParent(state: ChainState = defaultState()): ParentRef {
  return { hash: GENESIS_HASH, height: 0, slot: 0, state };
}

/** The key that wins `slot` on `parent` (throws if the winner is not a test key or there is none). */
export function winnerAt(parent: ParentRef, slot: number, config: ChainConfig = CONFIG): KeyPair {
  const w = lotteryWinner(parent.state, parent.hash, slot, config.minStake);
  if (w === undefined) throw new Error("no validators");
  return keyOf(w.hex);
}

/** The first slot after `parent.slot` won by someone other than `key` (or by `key` when `won`). */
export function slotWhere(parent: ParentRef, pred: (winner: KeyPair) => boolean, config = CONFIG): number {
  for (let slot = parent.slot + 1; slot < parent.slot + 10_000; slot++) {
    if (pred(winnerAt(parent, slot, config))) return slot;
  }
  throw new Error("no such slot");
}

/** Builds the block of `slot` on `parent`, proposed by the lottery winner. */
export function buildOn(
  parent: ParentRef,
  slot: number,
  candidates: readonly SignedTx[] = [],
  config: ChainConfig = CONFIG,
): BuiltBlock {
  return buildBlock({ config, parent, slot, key: winnerAt(parent, slot, config), candidates });
}

/** The ParentRef of a built block. */
export function childRef(built: Pick<BuiltBlock, "block" | "hash" | "state">): ParentRef {
  const h = built.block.header;
  return { hash: built.hash, height: h.height, slot: h.slot, state: built.state };
}

// ---- transactions ----------------------------------------------------------------------------

export function sign<T extends TxBody>(body: T, signer: KeyPair, chainId = CHAIN_ID): SignedTx & T {
  return signTx(body, signer, chainId) as SignedTx & T;
}

export function transfer(from: KeyPair, to: PublicKey, amount: bigint, nonce: number, fee = 1n) {
  return sign({ kind: "transfer", from: from.publicKey, nonce, fee, to, amount }, from);
}

export function stake(from: KeyPair, amount: bigint, nonce: number, fee = 1n) {
  return sign({ kind: "stake", from: from.publicKey, nonce, fee, amount }, from);
}

export function unstake(from: KeyPair, amount: bigint, nonce: number, fee = 1n) {
  return sign({ kind: "unstake", from: from.publicKey, nonce, fee, amount }, from);
}

export function bpm(from: KeyPair, value: number, nonce: number, fee = 1n) {
  return sign({ kind: "bpm", from: from.publicKey, nonce, fee, bpm: value }, from);
}

export function evidence(
  from: KeyPair,
  headerA: SignedHeader,
  headerB: SignedHeader,
  nonce: number,
  fee = 1n,
) {
  return sign({ kind: "evidence", from: from.publicKey, nonce, fee, headerA, headerB }, from);
}

/** A header signed by `proposer` (fields default to something plausible; `tag` varies the roots). */
export function header(
  proposer: KeyPair,
  fields: Partial<BlockHeader> & { tag?: string } = {},
  chainId = CHAIN_ID,
): SignedHeader {
  const { tag = "a", ...rest } = fields;
  return signHeader(
    {
      height: 1,
      slot: 1,
      parentHash: GENESIS_HASH,
      proposer: proposer.publicKey,
      txRoot: sha256(utf8(`tx-${tag}`)),
      stateRoot: sha256(utf8(`state-${tag}`)),
      ...rest,
    },
    proposer,
    chainId,
  );
}

/** Two conflicting headers by `offender` for `slot`: valid evidence material. */
export function equivocation(
  offender: KeyPair,
  slot: number,
  chainId = CHAIN_ID,
): [SignedHeader, SignedHeader] {
  return [
    header(offender, { slot, height: slot, tag: `a-${slot}` }, chainId),
    header(offender, { slot, height: slot, tag: `b-${slot}` }, chainId),
  ];
}

// ---- errors -----------------------------------------------------------------------------------

type ErrorClass = abstract new (...args: never[]) => CardioError<string>;

/** Runs `fn`, asserts it throws an instance of `cls` with `code` and `verdict`, and returns the error. */
export function expectError<E extends CardioError<string>>(
  fn: () => unknown,
  cls: ErrorClass & (abstract new (...args: never[]) => E),
  code: string,
  verdict?: "ignore" | "reject",
): E {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected ${cls.name} ${code}`).toBeInstanceOf(cls);
  const err = thrown as E;
  expect(err.code).toBe(code);
  if (verdict !== undefined) expect(err.verdict).toBe(verdict);
  return err;
}
