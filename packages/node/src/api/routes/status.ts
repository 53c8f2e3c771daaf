import type { ApiContext, ApiRoute } from "../route.js";
import * as S from "../schemas.js";

/** `GET /health` and `GET /status`. */
export function statusRoutes({ node }: ApiContext): ApiRoute[] {
  return [
    {
      method: "GET",
      url: "/health",
      operationId: "getHealth",
      summary: "Whether the node follows the network",
      description: "200 when synced; 206 while catching up, with the sync progress.",
      responses: {
        200: { description: "Synced.", schema: S.Health },
        206: { description: "Syncing.", schema: S.Health },
      },
      handler: async (_request, reply) => {
        const status = node.status();
        if (status.syncState === "synced") return { status: "synced" };
        reply.code(206);
        return { status: "syncing", ...(status.sync === undefined ? {} : { sync: status.sync }) };
      },
    },
    {
      method: "GET",
      url: "/status",
      operationId: "getStatus",
      summary: "What the node knows: chain, head, clock, sync, peers, mempool",
      responses: { 200: { description: "The node's status.", schema: S.NodeStatus } },
      handler: async () => node.status(),
    },
  ];
}
