import type { EventStreams } from "../eventStream.js";
import type { ApiContext, ApiRoute } from "../route.js";

/** `GET /events`: node events as server-sent events. */
export function eventRoutes(_ctx: ApiContext, streams: EventStreams): ApiRoute[] {
  return [
    {
      method: "GET",
      url: "/events",
      operationId: "streamEvents",
      summary: "Live node events as server-sent events",
      description:
        "A text/event-stream of `head` (the head moved), `block` (a block was imported), `slot` (a slot " +
        "began; its lottery winner), `missedSlot` (a slot ended without a block) and `equivocation` (a " +
        "proposer signed two blocks for one slot; evidence follows), each as " +
        "`event: <name>` and a JSON `data` line. A comment line is sent every 15 s while idle.",
      responses: {
        200: {
          description: "The event stream; it stays open until the client disconnects.",
          contentType: "text/event-stream",
          schema: { type: "string" },
        },
      },
      handler: (_request, reply) => {
        streams.open(reply);
      },
    },
  ];
}
