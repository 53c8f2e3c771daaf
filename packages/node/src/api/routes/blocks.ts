import { type Block, equalBytes, fromHex } from "@cardio/core";
import { ApiError, ApiErrorCode } from "../apiError.js";
import { blockToJson } from "../json.js";
import type { ApiContext, ApiRoute } from "../route.js";
import * as S from "../schemas.js";

/** Default and largest page of `GET /blocks`. */
export const BLOCKS_PAGE = { default: 20, max: 100 } as const;

// A reorg landing between the reads of one page could splice two branches; re-reading is cheap and rare.
const PAGE_ATTEMPTS = 3;

/** `GET /blocks` and `GET /blocks/:heightOrHash`. */
export function blockRoutes({ node }: ApiContext): ApiRoute[] {
  const { chain } = node;

  async function readPage(from: number, limit: number): Promise<Array<{ hash: Uint8Array; block: Block }>> {
    for (let attempt = 1; ; attempt++) {
      const last = Math.min(from + limit - 1, chain.head().height);
      const page: Array<{ hash: Uint8Array; block: Block }> = [];
      for (let h = from; h <= last; h++) {
        const found = await chain.canonicalBlockAt(h);
        if (found === undefined) break;
        page.push(found);
      }
      const linked = page.every(
        (b, i) => i === 0 || equalBytes(b.block.header.parentHash, page[i - 1]!.hash),
      );
      if (linked || attempt >= PAGE_ATTEMPTS) return page;
    }
  }

  return [
    {
      method: "GET",
      url: "/blocks",
      operationId: "listBlocks",
      summary: "A page of the canonical chain, ascending by height",
      querystring: {
        type: "object",
        properties: {
          from: { ...S.Height, default: 0, description: "First height (default 0)." },
          limit: {
            type: "integer",
            minimum: 1,
            maximum: BLOCKS_PAGE.max,
            default: BLOCKS_PAGE.default,
            description: `Most blocks returned (default ${BLOCKS_PAGE.default}, at most ${BLOCKS_PAGE.max}).`,
          },
        },
        additionalProperties: false,
      },
      responses: {
        200: { description: "The blocks (none when `from` is above the head).", schema: S.BlockPage },
        400: { description: "A malformed query.", schema: S.ErrorResponse },
      },
      handler: async (request) => {
        const { from, limit } = request.query as { from: number; limit: number };
        const headHeight = chain.head().height;
        const page = await readPage(from, limit);
        return { headHeight, blocks: page.map((b) => blockToJson(b.block, b.hash)) };
      },
    },
    {
      method: "GET",
      url: "/blocks/:heightOrHash",
      operationId: "getBlock",
      summary: "One block: the canonical block at a height, or any known block by hash",
      params: {
        type: "object",
        properties: {
          heightOrHash: {
            type: "string",
            format: "blockId",
            description: "A decimal height (canonical chain) or a block hash (any branch).",
          },
        },
        required: ["heightOrHash"],
        additionalProperties: false,
      },
      responses: {
        200: { description: "The block.", schema: S.Block },
        400: { description: "Neither a height nor a hash.", schema: S.ErrorResponse },
        404: { description: "No such block.", schema: S.ErrorResponse },
      },
      handler: async (request) => {
        const { heightOrHash: id } = request.params as { heightOrHash: string };
        if (id.length === 64) {
          const hash = fromHex(id);
          const block = await chain.blockByHash(hash);
          if (block === undefined)
            throw new ApiError(404, ApiErrorCode.NOT_FOUND, `no block with hash ${id}`);
          return blockToJson(block, hash);
        }
        const found = await chain.canonicalBlockAt(Number(id));
        if (found === undefined) throw new ApiError(404, ApiErrorCode.NOT_FOUND, `no block at height ${id}`);
        return blockToJson(found.block, found.hash);
      },
    },
  ];
}
