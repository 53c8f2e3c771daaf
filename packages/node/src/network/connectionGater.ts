import type { ConnectionGater, PeerId } from "@libp2p/interface";
import { errorFields, type Logger } from "./logger.js";

/** Decides, per peer id string, whether connections with that peer are refused. */
export type DenyPeer = (peerId: string) => boolean;

/**
 * A libp2p connection gater that refuses every connection with a peer `denyPeer` names: our own
 * dials (before any socket is opened) and inbound connections (as soon as the encryption handshake
 * reveals who the remote is). It is consulted on each new connection, so flipping the answer takes
 * effect for the next one; connections already open stay until hung up.
 *
 * A `denyPeer` that throws counts as a denial: a broken policy should not let peers in.
 */
export function createConnectionGater(denyPeer: DenyPeer, logger: Logger): ConnectionGater {
  const denied = (peerId: PeerId, direction: "inbound" | "outbound"): boolean => {
    const id = peerId.toString();
    let deny: boolean;
    try {
      deny = denyPeer(id);
    } catch (err) {
      logger.error({ peer: id, ...errorFields(err) }, "denyPeer threw; refusing the connection");
      return true;
    }
    if (deny) logger.debug({ peer: id, direction }, "connection refused by denyPeer");
    return deny;
  };
  return {
    denyDialPeer: (peerId) => denied(peerId, "outbound"),
    denyOutboundEncryptedConnection: (peerId) => denied(peerId, "outbound"),
    denyInboundEncryptedConnection: (peerId) => denied(peerId, "inbound"),
  };
}
