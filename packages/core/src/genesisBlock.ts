import { publicKeyFromAddress } from "./address.js";
import { toHex } from "./bytes.js";
import { genesisHash } from "./genesis.js";
import { headerHash } from "./headerCodec.js";
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from "./params.js";
import type { ChainState } from "./state.js";
import { stateRoot } from "./stateRoot.js";
import { txRoot } from "./txRoot.js";
import type { Account, Block, Genesis, Hash } from "./types.js";

/** The state the genesis document describes. */
export function genesisState(genesis: Genesis): ChainState {
  const accounts = new Map<string, Account>();
  for (const a of genesis.accounts) {
    accounts.set(toHex(publicKeyFromAddress(a.address)), {
      balance: a.balance,
      stake: a.stake,
      unbonding: [],
      nonce: 0,
    });
  }
  return { accounts, offences: new Set(), minted: 0n, burned: 0n };
}

/**
 * Block 0: height 0, slot 0, no proposer and no signature (all-zero fields), its parent hash the hash
 * of the whole genesis document, so two chains agree on block 0 only if they agree on every
 * genesis parameter and account.
 */
export function genesisBlock(genesis: Genesis): { block: Block; hash: Hash; state: ChainState } {
  const state = genesisState(genesis);
  const header = {
    height: 0,
    slot: 0,
    parentHash: genesisHash(genesis),
    proposer: new Uint8Array(PUBLIC_KEY_BYTES),
    txRoot: txRoot([]),
    stateRoot: stateRoot(state),
    signature: new Uint8Array(SIGNATURE_BYTES),
  };
  return { block: { header, txs: [] }, hash: headerHash(header), state };
}
