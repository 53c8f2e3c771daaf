/**
 * Core benchmark: raw Ed25519 verification, signed transactions verified and applied, blocks of
 * 1,000 transactions validated and decoded — all measured in the same run so the ratios compare like
 * with like on the machine at hand.
 *
 *   npm run bench:core            (tsx scripts/bench-core.ts)
 *
 * Deterministic inputs (keys and the transaction mix come from fixed seeds). Timings are medians of
 * several runs after a warm-up. Target: verify-and-apply ≥ 80 % of the raw verification rate.
 */
import { createHash } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { applyBlock, type ParentRef } from "../packages/core/src/applyBlock.js";
import { applyTx, assertValidTx } from "../packages/core/src/applyTx.js";
import { decodeBlock, encodeBlock } from "../packages/core/src/blockCodec.js";
import { buildBlock } from "../packages/core/src/buildBlock.js";
import { toHex } from "../packages/core/src/bytes.js";
import { type KeyPair, keyPairFromSeed, signBytes, verifyBytes } from "../packages/core/src/keys.js";
import { lotteryWinner } from "../packages/core/src/lottery.js";
import { Domain } from "../packages/core/src/params.js";
import { signingBytes, signTx } from "../packages/core/src/signing.js";
import type { ChainState } from "../packages/core/src/state.js";
import { StateDraft } from "../packages/core/src/stateDraft.js";
import { stateRoot } from "../packages/core/src/stateRoot.js";
import { encodeTxBody } from "../packages/core/src/txCodec.js";
import type { Account, Block, ChainConfig, SignedTx, TxBody } from "../packages/core/src/types.js";

const RATIO_TARGET = 0.8;
const SENDERS = 2_000;
const VALIDATORS = 50; // the first VALIDATORS senders hold stake ≥ minStake
const TXS = 20_000;
const BLOCK_TXS = 1_000;
const BLOCKS = 10;
const IDLE_ACCOUNTS = 100_000; // for the "large state" row

const config: ChainConfig = {
  chainId: "cardio-bench",
  genesisTime: 0,
  slotMs: 1000,
  blockReward: 10n,
  minStake: 1_000n,
  unbondingDelay: 5,
  maxBlockTxs: BLOCK_TXS,
  maxBlockBytes: 4 * 1024 * 1024,
};

// A full collection before each timed section, so one section's garbage is not collected in the next.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

// ---- helpers ---------------------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(0xca4d10);
const pick = (n: number): number => Math.floor(rand() * n);

const seedOf = (label: string): Uint8Array => new Uint8Array(createHash("sha256").update(label).digest());

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * CPU time (user + system) used by this process so far, in seconds. The machines these benchmarks run
 * on are shared: wall-clock time also counts the time other processes hold the cores, CPU time does not.
 */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Wall-clock seconds of every timed run, to report how much the machine's load inflated them. */
const wallOverCpu: number[] = [];

/** Median over `runs` timed runs (after `warmup` untimed ones) of the CPU seconds `body` takes. */
function seconds(runs: number, body: () => void, warmup = 1): number {
  for (let i = 0; i < warmup; i++) body();
  gc();
  const xs: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = cpuSeconds();
    const t0 = process.hrtime.bigint();
    body();
    const cpu = cpuSeconds() - c0;
    wallOverCpu.push(Number(process.hrtime.bigint() - t0) / 1e9 / cpu);
    xs.push(cpu);
  }
  return median(xs);
}

const fmtRate = (x: number): string => Math.round(x).toLocaleString("en-US");
const log = (msg: string): boolean => process.stderr.write(`  ${msg}\n`);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

// ---- keys and the funded state -------------------------------------------------------------------

const loadAtStart = loadavg()[0]!;
log(`generating ${SENDERS} keys`);
const keys: KeyPair[] = Array.from({ length: SENDERS }, (_, i) => keyPairFromSeed(seedOf(`bench-key-${i}`)));
const keyByHex = new Map(keys.map((k) => [toHex(k.publicKey), k]));
/** Recipients that are not senders: fresh accounts created by transfers. */
const outsiders = Array.from({ length: 1_000 }, (_, i) => seedOf(`bench-outsider-${i}`));

function fundedState(idle = 0): ChainState {
  const accounts = new Map<string, Account>();
  keys.forEach((k, i) => {
    accounts.set(toHex(k.publicKey), {
      balance: 1_000_000_000_000n,
      stake: i < VALIDATORS ? 1_000_000n + BigInt(i) * 10_000n : 500n,
      unbonding: [],
      nonce: 0,
    });
  });
  for (let i = 0; i < idle; i++) {
    accounts.set(toHex(seedOf(`bench-idle-${i}`)), {
      balance: 1n + BigInt(i),
      stake: 0n,
      unbonding: [],
      nonce: 1,
    });
  }
  return { accounts, offences: new Set(), minted: 0n, burned: 0n };
}

// ---- the transaction mix -------------------------------------------------------------------------

/** 70 % transfers (a quarter to fresh accounts), 12 % stake, 3 % unstake, 15 % bpm; nonces in order. */
function makeTxs(count: number): SignedTx[] {
  const nonces = new Array<number>(SENDERS).fill(0);
  const out: SignedTx[] = [];
  for (let i = 0; i < count; i++) {
    const s = pick(SENDERS);
    const key = keys[s]!;
    const common = { from: key.publicKey, nonce: nonces[s]!, fee: BigInt(1 + pick(10)) };
    const u = rand();
    let body: TxBody;
    if (u < 0.7) {
      const to = rand() < 0.25 ? outsiders[pick(outsiders.length)]! : keys[pick(SENDERS)]!.publicKey;
      body = { ...common, kind: "transfer", to, amount: BigInt(1 + pick(1_000_000)) };
    } else if (u < 0.82) {
      body = { ...common, kind: "stake", amount: BigInt(1 + pick(10_000)) };
    } else if (u < 0.85) {
      body = { ...common, kind: "unstake", amount: BigInt(1 + pick(100)) };
    } else {
      body = { ...common, kind: "bpm", bpm: 40 + pick(160) };
    }
    nonces[s]! += 1;
    out.push(signTx(body, key, config.chainId));
  }
  return out;
}

log(`signing ${TXS} transactions`);
const txs = makeTxs(TXS);

// ---- 1. raw Ed25519 verification, and verify + apply ----------------------------------------------

/** The exact messages and signatures the transactions carry, verified with nothing else around them. */
const rawItems = txs.map((tx) => ({
  pk: tx.from,
  msg: signingBytes(Domain.tx, config.chainId, encodeTxBody(tx)),
  sig: tx.signature,
}));

const base = fundedState();
const ctx = { config, slot: 1 };

/** Raw verification of items [from, to). */
function rawVerify(from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const it = rawItems[i]!;
    if (!verifyBytes(it.pk, it.msg, it.sig)) throw new Error("bad signature");
  }
}
/** Verify and apply txs [from, to) on `draft` (txs in order, so nonces stay valid). */
function verifyAndApply(draft: StateDraft, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const tx = txs[i]!;
    assertValidTx(tx, config.chainId);
    applyTx(draft, tx, ctx);
  }
}

// Raw verify and verify + apply alternate in chunks of 1,000, so both see the same machine load
// (the machines are shared, and a change of load between two long measurements would fake or hide
// a gap). A round covers all 20,000 transactions; the ratio reported is the median over the rounds.
log("raw verify and verify + apply, interleaved");
const ROUNDS = 7;
const CHUNK = 1_000;
rawVerify(0, txs.length); // warm-up (JIT)
verifyAndApply(new StateDraft(base), 0, txs.length);
gc();
const rawTimes: number[] = [];
const applyTimes: number[] = [];
const ratios: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const draft = new StateDraft(base);
  let raw = 0;
  let applied = 0;
  for (let from = 0; from < txs.length; from += CHUNK) {
    const to = Math.min(from + CHUNK, txs.length);
    let c0 = cpuSeconds();
    rawVerify(from, to);
    raw += cpuSeconds() - c0;
    c0 = cpuSeconds();
    verifyAndApply(draft, from, to);
    applied += cpuSeconds() - c0;
  }
  rawTimes.push(raw);
  applyTimes.push(applied);
  ratios.push(raw / applied);
}
const rawRate = rawItems.length / median(rawTimes);
const applyRate = txs.length / median(applyTimes);
const ratio = median(ratios);

// The same over many distinct senders, each seen once per pass: libsodium takes the raw key, so this
// should match the raw rate (with OpenSSL, until session 6, each new key cost a KeyObject import).
const COLD_KEYS = 12_000;
log(`raw verify over ${COLD_KEYS} distinct keys`);
const coldMsg = signingBytes(Domain.tx, config.chainId, new Uint8Array(120).fill(7));
const coldItems = Array.from({ length: COLD_KEYS }, (_, i) => {
  const k = keyPairFromSeed(seedOf(`bench-cold-${i}`));
  return { pk: k.publicKey, sig: signBytes(k, coldMsg) };
});
const coldSeconds = seconds(3, () => {
  for (const it of coldItems) if (!verifyBytes(it.pk, coldMsg, it.sig)) throw new Error("bad signature");
});
const coldRate = coldItems.length / coldSeconds;

// Sign rate, for reference.
const signMsgs = rawItems.slice(0, 5_000);
const signSeconds = seconds(3, () => {
  for (let i = 0; i < signMsgs.length; i++) signBytes(keys[i % SENDERS]!, signMsgs[i]!.msg);
});
const signRate = signMsgs.length / signSeconds;

// ---- 2. apply alone (signatures already checked), to show where the time goes --------------------
const applyOnlySeconds = seconds(5, () => {
  const draft = new StateDraft(base);
  for (const tx of txs) applyTx(draft, tx, ctx);
});

// ---- 3. blocks -----------------------------------------------------------------------------------

interface Built {
  readonly parent: ParentRef;
  readonly block: Block;
  readonly bytes: Uint8Array;
}

/** A chain of `BLOCKS` blocks of `BLOCK_TXS` transactions, each forged by the slot's lottery winner. */
function buildChain(genesisState: ChainState, label: string): Built[] {
  let parent: ParentRef = { hash: seedOf(`bench-genesis-${label}`), height: 0, slot: 0, state: genesisState };
  stateRoot(genesisState);
  const out: Built[] = [];
  for (let b = 0; b < BLOCKS; b++) {
    const slot = parent.slot + 1;
    const winner = lotteryWinner(parent.state, parent.hash, slot, config.minStake);
    const key = winner && keyByHex.get(winner.hex);
    if (key === undefined) throw new Error(`slot ${slot}: winner is not one of the bench keys`);
    const candidates = txs.slice(b * BLOCK_TXS, (b + 1) * BLOCK_TXS);
    const built = buildBlock({ config, parent, slot, key, candidates, candidatesVerified: true });
    if (built.block.txs.length !== BLOCK_TXS)
      throw new Error(`block ${b}: ${built.skipped.length} txs skipped`);
    out.push({ parent, block: built.block, bytes: encodeBlock(built.block) });
    parent = { hash: built.hash, height: parent.height + 1, slot, state: built.state };
  }
  return out;
}

function validateChain(chain: Built[], withEncodedSize: boolean): void {
  for (const { parent, block, bytes } of chain) {
    applyBlock({
      config,
      parent,
      block,
      nowMs: 1e12,
      ...(withEncodedSize ? { encodedSize: bytes.length } : {}),
    });
  }
}

log(`building ${BLOCKS} blocks of ${BLOCK_TXS} txs`);
const chain = buildChain(base, "small");
const blockBytes = chain.reduce((a, c) => a + c.bytes.length, 0) / chain.length;

log("validating blocks (encoded size known, as when received from the network)");
const blockSeconds = seconds(3, () => validateChain(chain, true)) / BLOCKS;
log("validating blocks (size recomputed by encoding)");
const blockSecondsEnc = seconds(3, () => validateChain(chain, false)) / BLOCKS;

log("decoding blocks");
const DECODE_ROUNDS = 5;
const decodeSeconds =
  seconds(5, () => {
    for (let r = 0; r < DECODE_ROUNDS; r++) for (const c of chain) decodeBlock(c.bytes);
  }) /
  (DECODE_ROUNDS * BLOCKS);
const encodeSeconds =
  seconds(5, () => {
    for (let r = 0; r < DECODE_ROUNDS; r++) for (const c of chain) encodeBlock(c.block);
  }) /
  (DECODE_ROUNDS * BLOCKS);

log(
  `building and validating the same blocks on a state with ${IDLE_ACCOUNTS.toLocaleString("en-US")} more accounts`,
);
const bigChain = buildChain(fundedState(IDLE_ACCOUNTS), "large");
const bigBlockSeconds = seconds(3, () => validateChain(bigChain, true)) / BLOCKS;

// ---- report --------------------------------------------------------------------------------------

const perTxUs = (s: number): string => `${((s / BLOCK_TXS) * 1e6).toFixed(1)} µs/tx`;
console.log(
  `cardio core benchmark — Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} cores`,
);
console.log(
  `${SENDERS} funded senders (${VALIDATORS} validators), ${TXS.toLocaleString("en-US")} signed txs: 70 % transfer, 12 % stake, 3 % unstake, 15 % bpm\n`,
);
console.log(
  table(
    ["measure", "rate", "detail"],
    [
      ["Ed25519 sign (signBytes)", `${fmtRate(signRate)} /s`, "node:crypto, cached KeyObject"],
      [
        "Ed25519 verify, raw (verifyBytes)",
        `${fmtRate(rawRate)} /s`,
        "libsodium; the txs' own signing bytes",
      ],
      [
        "Ed25519 verify, distinct keys",
        `${fmtRate(coldRate)} /s`,
        `${COLD_KEYS.toLocaleString("en-US")} keys, each once per pass`,
      ],
      [
        "tx verify + apply (assertValidTx + applyTx)",
        `${fmtRate(applyRate)} /s`,
        `${(ratio * 100).toFixed(1)} % of raw verify (median of ${ROUNDS} rounds interleaved per 1,000 txs, ${(Math.min(...ratios) * 100).toFixed(1)}–${(Math.max(...ratios) * 100).toFixed(1)} %; target ≥ ${RATIO_TARGET * 100} %): ${ratio >= RATIO_TARGET ? "PASS" : "FAIL"}`,
      ],
      ["tx apply only (applyTx, no signature)", `${fmtRate(txs.length / applyOnlySeconds)} /s`, "StateDraft"],
      [
        `block validation, ${BLOCK_TXS} txs (applyBlock)`,
        `${(1 / blockSeconds).toFixed(2)} blocks/s`,
        `${fmtRate(BLOCK_TXS / blockSeconds)} tx/s, ${perTxUs(blockSeconds)}, ${((BLOCK_TXS / blockSeconds / rawRate) * 100).toFixed(1)} % of raw verify; encodedSize given`,
      ],
      [
        `block validation, ${BLOCK_TXS} txs, size re-encoded`,
        `${(1 / blockSecondsEnc).toFixed(2)} blocks/s`,
        `${fmtRate(BLOCK_TXS / blockSecondsEnc)} tx/s, ${perTxUs(blockSecondsEnc)}`,
      ],
      [
        `block validation, state of ${(SENDERS + IDLE_ACCOUNTS).toLocaleString("en-US")} accounts`,
        `${(1 / bigBlockSeconds).toFixed(2)} blocks/s`,
        `${fmtRate(BLOCK_TXS / bigBlockSeconds)} tx/s; +${((bigBlockSeconds - blockSeconds) * 1e3).toFixed(1)} ms/block of O(accounts) work`,
      ],
      [
        `block decode (decodeBlock), ${(blockBytes / 1024).toFixed(0)} KiB`,
        `${fmtRate(1 / decodeSeconds)} blocks/s`,
        `${fmtRate(BLOCK_TXS / decodeSeconds)} tx/s, ${(blockBytes / decodeSeconds / 1e6).toFixed(0)} MB/s`,
      ],
      [
        "block encode (encodeBlock)",
        `${fmtRate(1 / encodeSeconds)} blocks/s`,
        `${fmtRate(BLOCK_TXS / encodeSeconds)} tx/s, ${(blockBytes / encodeSeconds / 1e6).toFixed(0)} MB/s`,
      ],
    ],
  ),
);
console.log(
  `\nTarget: tx verify + apply ≥ ${RATIO_TARGET * 100} % of raw Ed25519 verify: ${(ratio * 100).toFixed(1)} % → ${ratio >= RATIO_TARGET ? "PASS" : "FAIL"}`,
);
console.log(
  `Times are CPU time (user + system) of this process, medians of several runs after a warm-up. 1-minute load average: ${loadAtStart.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end; wall-clock time was ${median(wallOverCpu).toFixed(2)}× the CPU time (median over runs).`,
);
