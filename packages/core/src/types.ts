/**
 * The data types of cardio. Amounts are BigInt (u64 on the wire, decimal strings in JSON);
 * heights, slots and nonces are safe integers (u64 on the wire, at most 2^53 - 1).
 */

/** A 32-byte SHA-256 digest. */
export type Hash = Uint8Array;
/** A 32-byte raw Ed25519 public key. */
export type PublicKey = Uint8Array;
/** A 64-byte Ed25519 signature. */
export type Signature = Uint8Array;

/** Chain parameters fixed at genesis. Every node of a chain must hold the same values. */
export interface ChainConfig {
  /** Names the chain; part of every signature and gossip topic. 1-64 chars of [a-z0-9-]. */
  readonly chainId: string;
  /** Unix time in ms at which slot 0 starts. */
  readonly genesisTime: number;
  /** Length of a slot in ms. */
  readonly slotMs: number;
  /** Tokens minted to the proposer of each block. */
  readonly blockReward: bigint;
  /** Least stake that makes an account a validator (a lottery entrant). */
  readonly minStake: bigint;
  /** Slots an `unstake` stays slashable before it returns to the balance. */
  readonly unbondingDelay: number;
  /** Most transactions in one block. */
  readonly maxBlockTxs: number;
  /** Most bytes in one encoded block. */
  readonly maxBlockBytes: number;
}

/** An account as listed in genesis. */
export interface GenesisAccount {
  /** PeerId string of the account's Ed25519 key (`12D3KooW…`). */
  readonly address: string;
  readonly balance: bigint;
  readonly stake: bigint;
}

/** The genesis document: chain parameters and the initial accounts. */
export interface Genesis extends ChainConfig {
  readonly accounts: readonly GenesisAccount[];
}

/** Stake on its way back to the balance; still slashable until `releaseSlot`. */
export interface Unbonding {
  readonly amount: bigint;
  /** First slot at which the amount is spendable again. */
  readonly releaseSlot: number;
}

/** State of one account. Immutable: the state transition replaces accounts, never edits them. */
export interface Account {
  readonly balance: bigint;
  readonly stake: bigint;
  readonly unbonding: readonly Unbonding[];
  /** Number of transactions sent so far; the next transaction must carry exactly this nonce. */
  readonly nonce: number;
}

/** Transaction kinds and their wire tags. */
export const TxKind = {
  transfer: 0,
  stake: 1,
  unstake: 2,
  bpm: 3,
  evidence: 4,
} as const;
export type TxKindName = keyof typeof TxKind;

interface TxCommon {
  /** Sender's public key; the sender pays `fee` and signs. */
  readonly from: PublicKey;
  /** Must equal the sender's account nonce. */
  readonly nonce: number;
  /** Paid by the sender to the proposer that includes the transaction. */
  readonly fee: bigint;
}

export interface TransferBody extends TxCommon {
  readonly kind: "transfer";
  readonly to: PublicKey;
  readonly amount: bigint;
}
export interface StakeBody extends TxCommon {
  readonly kind: "stake";
  readonly amount: bigint;
}
export interface UnstakeBody extends TxCommon {
  readonly kind: "unstake";
  readonly amount: bigint;
}
/** A heart-rate reading, the tutorial's block data: a whole number from 1 to 300. */
export interface BpmBody extends TxCommon {
  readonly kind: "bpm";
  readonly bpm: number;
}
/** Proof that one proposer signed two different headers for one slot. */
export interface EvidenceBody extends TxCommon {
  readonly kind: "evidence";
  readonly headerA: SignedHeader;
  readonly headerB: SignedHeader;
}

/** A transaction without its signature. */
export type TxBody = TransferBody | StakeBody | UnstakeBody | BpmBody | EvidenceBody;
/** A transaction signed by its sender. */
export type SignedTx = TxBody & { readonly signature: Signature };

/** A block header without its signature; its hash is the block id. */
export interface BlockHeader {
  readonly height: number;
  readonly slot: number;
  readonly parentHash: Hash;
  /** Public key of the lottery winner that forged the block. */
  readonly proposer: PublicKey;
  /** Commitment to the block's transactions (see `txRoot`). */
  readonly txRoot: Hash;
  /** State root after applying the block. */
  readonly stateRoot: Hash;
}

/** A header with the proposer's signature. */
export interface SignedHeader extends BlockHeader {
  readonly signature: Signature;
}

/** A block: a signed header and its transactions, applied in order. */
export interface Block {
  readonly header: SignedHeader;
  readonly txs: readonly SignedTx[];
}
