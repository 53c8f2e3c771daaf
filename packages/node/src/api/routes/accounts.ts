import { addressFromPublicKey, getAccount, publicKeyFromAddress } from "@cardio/core";
import type { ApiContext, ApiRoute } from "../route.js";
import * as S from "../schemas.js";

/** `GET /accounts/:address`. */
export function accountRoutes({ node }: ApiContext): ApiRoute[] {
  return [
    {
      method: "GET",
      url: "/accounts/:address",
      operationId: "getAccount",
      summary: "An account in the head state",
      description: "A well-formed address that never received anything is an account of zeros.",
      params: {
        type: "object",
        properties: { address: S.Address },
        required: ["address"],
        additionalProperties: false,
      },
      responses: {
        200: { description: "The account.", schema: S.Account },
        400: { description: "Not an Ed25519 PeerId (code CRYPTO_INVALID_ADDRESS).", schema: S.ErrorResponse },
      },
      handler: async (request) => {
        const { address } = request.params as { address: string };
        // Throws CryptoError, answered 400 with core's code and message.
        const publicKey = publicKeyFromAddress(address);
        const account = getAccount(node.chain.head().state, publicKey);
        return {
          address: addressFromPublicKey(publicKey),
          balance: account.balance.toString(),
          stake: account.stake.toString(),
          unbonding: account.unbonding.map((u) => ({
            amount: u.amount.toString(),
            releaseSlot: u.releaseSlot,
          })),
          nonce: account.nonce,
          pendingNonce: node.mempool.nextNonce(publicKey, node.chain.head().state),
          // Same rule as the lottery's validator set.
          validator: account.stake > 0n && account.stake >= node.config.minStake,
        };
      },
    },
  ];
}
