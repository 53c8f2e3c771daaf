/**
 * A corpus of valid encodings for the fuzzers to mutate: a devnet genesis, signed transactions of every
 * kind, and a short real chain (blocks built by the lottery winners, carrying those transactions).
 * Everything is derived from fixed seeds, so the corpus (and every fuzz case) is the same on every run.
 */
import {
  type Block,
  buildBlock,
  createDevnet,
  encodeBlock,
  encodeHeader,
  encodeTx,
  type Genesis,
  genesisBlock,
  genesisToJson,
  type KeyPair,
  lotteryWinner,
  type ParentRef,
  type SignedHeader,
  type SignedTx,
  sha256,
  signHeader,
  signTx,
  toHex,
  utf8,
} from "@cardio/core";

export interface Corpus {
  genesis: Genesis;
  keys: readonly KeyPair[];
  /** The parents blocks of the chain were built on, genesis first. */
  parents: ParentRef[];
  txs: SignedTx[];
  headers: SignedHeader[];
  blocks: Block[];
  encodedTxs: Uint8Array[];
  encodedHeaders: Uint8Array[];
  encodedBlocks: Uint8Array[];
  /** `genesis.json` texts: the devnet's, and variants with other parameters. */
  genesisTexts: string[];
}

let cached: Corpus | undefined;

export function corpus(): Corpus {
  if (cached !== undefined) return cached;
  const { genesis, keys } = createDevnet({
    seed: "cardio-fuzz-corpus",
    validators: 4,
    stakes: [100n, 200n, 300n, 5n],
    genesisTime: 1_700_000_000_000,
    slotMs: 1000,
    maxBlockBytes: 64 * 1024,
  });
  const chainId = genesis.chainId;
  const keyOf = (hex: string) => keys.find((k) => toHex(k.publicKey) === hex)!;

  const headerOf = (k: KeyPair, slot: number, tag: string): SignedHeader =>
    signHeader(
      {
        height: slot,
        slot,
        parentHash: sha256(utf8(`parent-${tag}`)),
        proposer: k.publicKey,
        txRoot: sha256(utf8(`tx-${tag}`)),
        stateRoot: sha256(utf8(`state-${tag}`)),
      },
      k,
      chainId,
    );
  const [a, b, c, d] = keys as [KeyPair, KeyPair, KeyPair, KeyPair];
  const evA = headerOf(c, 3, "a");
  const evB = headerOf(c, 3, "b");
  const txs: SignedTx[] = [
    signTx(
      { kind: "transfer", from: a.publicKey, nonce: 0, fee: 1n, to: b.publicKey, amount: 5n },
      a,
      chainId,
    ),
    signTx({ kind: "stake", from: b.publicKey, nonce: 0, fee: 2n, amount: 10n }, b, chainId),
    signTx({ kind: "unstake", from: c.publicKey, nonce: 0, fee: 0n, amount: 7n }, c, chainId),
    signTx({ kind: "bpm", from: d.publicKey, nonce: 0, fee: 1n, bpm: 72 }, d, chainId),
    signTx({ kind: "bpm", from: a.publicKey, nonce: 1, fee: 3n, bpm: 300 }, a, chainId),
    signTx(
      { kind: "evidence", from: d.publicKey, nonce: 1, fee: 0n, headerA: evA, headerB: evB },
      d,
      chainId,
    ),
    signTx(
      {
        kind: "transfer",
        from: b.publicKey,
        nonce: 1,
        fee: 0n,
        to: d.publicKey,
        amount: 0xffff_ffff_ffff_ffffn,
      },
      b,
      chainId,
    ),
  ];

  const g = genesisBlock(genesis);
  const parents: ParentRef[] = [{ hash: g.hash, height: 0, slot: 0, state: g.state }];
  const blocks: Block[] = [];
  let slot = 0;
  // Six blocks; the transactions spread over them (invalid ones are skipped by the builder).
  for (let i = 0; i < 6; i++) {
    const parent = parents.at(-1)!;
    slot += 1 + (i % 2);
    const winner = lotteryWinner(parent.state, parent.hash, slot, genesis.minStake)!;
    const built = buildBlock({
      config: genesis,
      parent,
      slot,
      key: keyOf(winner.hex),
      candidates: txs.slice(i, i + 3),
    });
    blocks.push(built.block);
    parents.push({ hash: built.hash, height: built.block.header.height, slot, state: built.state });
  }
  const headers = [...blocks.map((bl) => bl.header), evA, evB];

  const json = genesisToJson(genesis);
  const genesisTexts = [
    JSON.stringify(json, null, 2),
    JSON.stringify(json),
    JSON.stringify({
      ...json,
      chainId: "other-chain",
      slotMs: 50,
      blockReward: "0",
      accounts: json.accounts.slice(0, 1),
    }),
    JSON.stringify({ ...json, maxBlockBytes: 4 * 1024 * 1024, maxBlockTxs: 20_000, unbondingDelay: 0 }),
  ];

  cached = {
    genesis,
    keys,
    parents,
    txs,
    headers,
    blocks,
    encodedTxs: txs.map(encodeTx),
    encodedHeaders: headers.map(encodeHeader),
    encodedBlocks: blocks.map(encodeBlock),
    genesisTexts,
  };
  return cached;
}
