import { ApiErrorCode } from "../apiError.js";
import type { ApiContext, ApiRoute } from "../route.js";
import * as S from "../schemas.js";
import { type TxSubmissionJson, txFromJson } from "../txFromJson.js";

/** `POST /txs` and `GET /txs/:id`. */
export function txRoutes({ node }: ApiContext): ApiRoute[] {
  return [
    {
      method: "POST",
      url: "/txs",
      operationId: "submitTx",
      summary: "Submit a signed transaction",
      description:
        "The body is the transaction's canonical encoding as hex, or the transaction as JSON. It is " +
        "checked against the head state, held in the mempool and gossiped. A refused transaction " +
        "changes nothing.",
      body: S.TxSubmission,
      responses: {
        202: { description: "Accepted: pending in the mempool.", schema: S.TxAccepted },
        400: {
          description:
            "Malformed or invalid: a field (named in the message), the encoding (CODEC_*), an address " +
            "(CRYPTO_*), the signature or the state (TX_*), or a nonce too far ahead (MEMPOOL_NONCE_GAP).",
          schema: S.ErrorResponse,
        },
        409: {
          description:
            "Conflicts with what the node holds: TX_NONCE_TOO_LOW (nonce already used), " +
            "MEMPOOL_DUPLICATE, or MEMPOOL_REPLACEMENT_UNDERPRICED (same nonce pending, fee not higher).",
          schema: S.ErrorResponse,
        },
        413: { description: "The body is larger than the limit.", schema: S.ErrorResponse },
        415: { description: "The body is not application/json.", schema: S.ErrorResponse },
        503: {
          description: "MEMPOOL_FULL: the mempool is full and the fee too low.",
          schema: S.ErrorResponse,
        },
      },
      handler: async (request, reply) => {
        const tx = txFromJson(request.body as TxSubmissionJson);
        const id = await node.submitTx(tx);
        reply.code(202);
        return { id };
      },
    },
    {
      method: "GET",
      url: "/txs/:id",
      operationId: "getTxStatus",
      summary: "Where a transaction is: included in the canonical chain, pending, or unknown",
      params: {
        type: "object",
        properties: { id: { ...S.Hash, description: "The transaction id." } },
        required: ["id"],
        additionalProperties: false,
      },
      responses: {
        200: { description: "Included (with height and block hash) or pending.", schema: S.TxStatus },
        400: { description: "Not a 64-hex id.", schema: S.ErrorResponse },
        404: { description: "Neither included nor pending.", schema: S.TxStatus },
      },
      handler: async (request, reply) => {
        const id = (request.params as { id: string }).id.toLowerCase();
        // Inclusion first: a just-included transaction may linger in the mempool until it revalidates.
        const included = await node.chain.txInclusion(id);
        if (included !== undefined) return { status: "included", ...included };
        if (node.mempool.has(id)) return { status: "pending" };
        reply.code(404);
        return { status: "unknown", code: ApiErrorCode.NOT_FOUND, message: `no transaction ${id}` };
      },
    },
  ];
}
