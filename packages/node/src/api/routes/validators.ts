import { addressFromPublicKey, validatorSet } from "@cardio/core";
import type { ApiContext, ApiRoute } from "../route.js";
import * as S from "../schemas.js";

// Shares are computed in BigInt scaled by this much, then turned into a float: exact for any u64 stakes.
const SHARE_SCALE = 10n ** 12n;

/** `GET /validators`. */
export function validatorRoutes({ node }: ApiContext): ApiRoute[] {
  return [
    {
      method: "GET",
      url: "/validators",
      operationId: "listValidators",
      summary: "The lottery's entrants on the head: stake, share of the total, blocks forged",
      responses: { 200: { description: "The validator set.", schema: S.Validators } },
      handler: async () => {
        const head = node.chain.head();
        const set = validatorSet(head.state, node.config.minStake);
        const forged = node.blocksForged();
        const validators = set.publicKeys.map((publicKey, i) => {
          const address = addressFromPublicKey(publicKey);
          const stake = set.stakes[i]!;
          const share = Number((stake * SHARE_SCALE) / set.totalStake) / Number(SHARE_SCALE);
          return {
            address,
            stake: stake.toString(),
            share,
            sharePercent: `${(share * 100).toFixed(2)}%`,
            blocksForged: forged.get(address) ?? 0,
          };
        });
        return { height: head.height, totalStake: set.totalStake.toString(), validators };
      },
    },
  ];
}
