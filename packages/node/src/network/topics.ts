/**
 * Names on the wire. Both gossip topics and request/response protocol ids carry the chain id, so
 * nodes of different chains sharing a network never exchange messages: their topics and protocols
 * simply do not match.
 */

/** The gossip topics of one chain. */
export interface Topics {
  /** `/cardio/<chainId>/blocks/1`: new blocks. */
  blocks: string;
  /** `/cardio/<chainId>/txs/1`: pending transactions. */
  txs: string;
}

/** The gossip topic names of the chain `chainId`. */
export function topics(chainId: string): Topics {
  assertChainId(chainId);
  return { blocks: `/cardio/${chainId}/blocks/1`, txs: `/cardio/${chainId}/txs/1` };
}

/** The libp2p protocol id of the request/response protocol `name` (e.g. `status`) on chain `chainId`. */
export function protocolId(chainId: string, name: string): string {
  assertChainId(chainId);
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new RangeError(
      `invalid protocol name ${JSON.stringify(name)}: use letters, digits, "_", "." or "-"`,
    );
  }
  return `/cardio/${chainId}/${name}/1`;
}

function assertChainId(chainId: string): void {
  // A "/" or whitespace in the chain id would change the shape of every topic and protocol id.
  if (!/^[A-Za-z0-9_.-]+$/.test(chainId)) {
    throw new RangeError(`invalid chain id ${JSON.stringify(chainId)}: use letters, digits, "_", "." or "-"`);
  }
}
