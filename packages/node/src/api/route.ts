import type { FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "../logger.js";
import type { CardioNode } from "../nodeTypes.js";
import type { JsonSchema } from "./schemas.js";

/** One documented response of a route. */
export interface ApiResponseSpec {
  description: string;
  /** Body schema; fastify serialises JSON responses with it, so a field it lacks is never sent. */
  schema?: JsonSchema;
  /** Media type of the body (default `application/json`; anything else is not serialised by schema). */
  contentType?: string;
}

/**
 * A route as data: fastify registers it and the OpenAPI document is generated from it, so the two
 * always describe the same inputs and outputs.
 */
export interface ApiRoute {
  method: "GET" | "POST";
  /** Path in fastify syntax (`/blocks/:heightOrHash`). */
  url: string;
  operationId: string;
  summary: string;
  description?: string;
  params?: JsonSchema;
  querystring?: JsonSchema;
  body?: JsonSchema;
  /** By HTTP status. */
  responses: Record<number, ApiResponseSpec>;
  handler: (request: FastifyRequest, reply: FastifyReply) => unknown;
}

/** What route handlers work with. */
export interface ApiContext {
  node: CardioNode;
  logger: Logger;
}
