import type { ApiContext, ApiRoute } from "../route.js";

/** `GET /metrics`: the node's Prometheus registry. */
export function metricsRoutes({ node }: ApiContext): ApiRoute[] {
  return [
    {
      method: "GET",
      url: "/metrics",
      operationId: "getMetrics",
      summary: "Prometheus metrics of this node",
      responses: {
        200: {
          description: "Prometheus text exposition format.",
          contentType: "text/plain; version=0.0.4",
          schema: { type: "string" },
        },
      },
      handler: async (_request, reply) => {
        const registry = node.metrics;
        reply.type(registry.contentType);
        return registry.metrics();
      },
    },
  ];
}
