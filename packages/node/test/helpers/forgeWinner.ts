import { type Block, buildBlock, equalBytes, type Genesis, type KeyPair, lotteryWinner } from "@cardio/core";
import type { ChainNode } from "../../src/chain/chain.js";

/**
 * The block the lottery winner of `slot` on `parent` forges, signed with its key from `keys`, with
 * `candidates` offered as its transactions. Throws if the winner's key is not among `keys`.
 */
export function forgeWinner(
  genesis: Genesis,
  keys: readonly KeyPair[],
  parent: ChainNode,
  slot: number,
  candidates: Block["txs"] = [],
): Block {
  const winner = lotteryWinner(parent.state, parent.hash, slot, genesis.minStake);
  const key = winner === undefined ? undefined : keys.find((k) => equalBytes(k.publicKey, winner.publicKey));
  if (key === undefined) throw new Error(`no key for the winner of slot ${slot}`);
  return buildBlock({ config: genesis, parent, slot, key, candidates }).block;
}
