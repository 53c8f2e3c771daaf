import { STATUS_CODES } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from "fastify";
import { errorFields, type Logger, silentLogger } from "../logger.js";
import type { CardioNode } from "../nodeTypes.js";
import { ApiErrorCode, clientErrorOf, type ErrorBody } from "./apiError.js";
import { createEventStreams } from "./eventStream.js";
import { ajvFormats } from "./formats.js";
import { buildOpenApi, type OpenApiDocument } from "./openapi.js";
import type { ApiContext, ApiRoute } from "./route.js";
import { accountRoutes } from "./routes/accounts.js";
import { blockRoutes } from "./routes/blocks.js";
import { eventRoutes } from "./routes/events.js";
import { metricsRoutes } from "./routes/metrics.js";
import { statusRoutes } from "./routes/status.js";
import { txRoutes } from "./routes/txs.js";
import { validatorRoutes } from "./routes/validators.js";
import type { JsonSchema } from "./schemas.js";
import { type SchemaError, validationMessage } from "./validationMessage.js";

/** Options of `createApiServer`. */
export interface ApiServerOptions {
  node: CardioNode;
  /** Interface to listen on (default `127.0.0.1`: the API is for the machine's own user). */
  host?: string;
  /** TCP port (default 0: any free port; `start()` returns the one chosen). */
  port?: number;
  /** Where requests (debug) and server errors go (default silent). Bodies are never logged. */
  logger?: Logger;
  /** Largest request body in bytes (default 64 KiB; a transaction is at most 1 KiB). */
  bodyLimit?: number;
  /** Interval of the keep-alive comments on `/events` (default 15 s). */
  eventsKeepAliveMs?: number;
}

/** Where a started server listens. */
export interface ApiAddress {
  host: string;
  port: number;
  /** `http://host:port`, without a trailing slash. */
  url: string;
}

/** The HTTP API of one node. It starts once; after `stop()` create a new one. */
export interface ApiServer {
  start(): Promise<ApiAddress>;
  /** Ends the event streams and closes the server; safe to call more than once. */
  stop(): Promise<void>;
  /** The OpenAPI 3.1 document served at `/openapi.json`. */
  readonly openapi: OpenApiDocument;
}

const DEFAULT_BODY_LIMIT = 64 * 1024;

/** Creates the HTTP API of `node` (fastify 5, JSON-schema-validated input, `{ code, message }` errors). */
export function createApiServer(opts: ApiServerOptions): ApiServer {
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? 0;
  const log = opts.logger ?? silentLogger;
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const ctx: ApiContext = { node: opts.node, logger: log };

  const app = Fastify({
    logger: false,
    bodyLimit,
    exposeHeadRoutes: false,
    // Bounds how long a client may take to send its request (slow-loris); streams are unaffected.
    requestTimeout: 10_000,
    // `stop()` must not wait on clients: a connection that never sent a request (HTTP clients open
    // spare ones) is not "idle" to Node and would hold `close()` until its headers timeout. What is
    // cut is moot: the node behind the API is stopping too.
    forceCloseConnections: true,
    // Longer than any valid parameter, so an overlong one gets the schema's 400, not a route 404.
    routerOptions: { maxParamLength: 256 },
    // Errors raised before routing (a path with a broken %-escape) and bytes that are not HTTP at all
    // get the same `{ code, message }` body as every other error, not fastify's own shape.
    frameworkErrors: (err, _request, reply) => {
      (reply as FastifyReply)
        .code(400)
        .send({ code: ApiErrorCode.INVALID_REQUEST, message: err.message.slice(0, 300) });
    },
    clientErrorHandler: clientError,
    ajv: {
      customOptions: {
        // No coercion: "72" is not a BPM and true is not 1. Integer query fields are converted by
        // `queryIntegers` instead, from decimal text only.
        coerceTypes: false,
        // An unknown field is an error (e.g. a misspelt "amout"), never silently dropped.
        removeAdditional: false,
        useDefaults: true,
        allErrors: false,
        // Errors carry the offending value, quoted back in the message.
        verbose: true,
        discriminator: true,
        formats: ajvFormats(),
      },
    },
  });

  // JSON only. Dropping fastify's text/plain parser also means a browser page cannot POST here with a
  // "simple" cross-origin request: application/json needs a CORS preflight, which this server never grants.
  app.removeContentTypeParser("text/plain");

  const streams = createEventStreams({
    events: opts.node.events,
    logger: log,
    ...(opts.eventsKeepAliveMs === undefined ? {} : { keepAliveMs: opts.eventsKeepAliveMs }),
  });

  const routes: ApiRoute[] = [
    ...statusRoutes(ctx),
    ...blockRoutes(ctx),
    ...accountRoutes(ctx),
    ...validatorRoutes(ctx),
    ...txRoutes(ctx),
    ...eventRoutes(ctx, streams),
    ...metricsRoutes(ctx),
  ];
  routes.push({
    method: "GET",
    url: "/openapi.json",
    operationId: "getOpenApi",
    summary: "This document",
    responses: { 200: { description: "The OpenAPI 3.1 document of this API." } },
    handler: async () => openapi,
  });
  // Built before fastify sees the schemas, from the same objects.
  const openapi = buildOpenApi(routes);

  for (const route of routes) register(route);

  function register(route: ApiRoute): void {
    const response: Record<number, JsonSchema> = {};
    for (const [status, r] of Object.entries(route.responses)) {
      // Only JSON bodies are serialised by schema; streams and metrics text are sent as they are.
      if (r.schema !== undefined && r.contentType === undefined) response[Number(status)] = r.schema;
    }
    const integerQuery = integerFields(route.querystring);
    app.route({
      method: route.method,
      url: route.url,
      schema: {
        ...(route.params === undefined ? {} : { params: route.params }),
        ...(route.querystring === undefined ? {} : { querystring: route.querystring }),
        ...(route.body === undefined ? {} : { body: route.body }),
        response,
      },
      ...(integerQuery.length === 0
        ? {}
        : { preValidation: async (request: FastifyRequest) => queryIntegers(request, integerQuery) }),
      handler: async (request: FastifyRequest, reply: FastifyReply) => route.handler(request, reply),
    });
  }

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0]!.slice(0, 200);
    reply.code(404).send({ code: ApiErrorCode.NOT_FOUND, message: `no route ${request.method} ${path}` });
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { statusCode, body } = errorResponse(err, bodyLimit);
    if (statusCode >= 500) {
      log.error({ method: request.method, url: request.routeOptions.url, ...errorFields(err) }, "api error");
    }
    reply.code(statusCode).send(body);
  });

  app.addHook("onResponse", async (request, reply) => {
    log.debug(
      {
        method: request.method,
        route: request.routeOptions.url ?? "(none)",
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      "api request",
    );
  });

  // Event streams are ended (and unsubscribed from the node) before fastify cuts the connections.
  app.addHook("preClose", async () => streams.closeAll());

  let started = false;
  let stopped = false;
  return {
    openapi,
    async start() {
      if (started) throw new Error("API server already started");
      started = true;
      await app.listen({ host, port });
      const address = app.server.address() as AddressInfo;
      const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
      log.debug({ url: `http://${urlHost}:${address.port}` }, "API listening");
      return { host: address.address, port: address.port, url: `http://${urlHost}:${address.port}` };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await app.close();
    },
  };
}

/**
 * Answers what Node's HTTP parser refused before fastify saw a request (malformed request line or
 * headers, headers too large, a request not received in time) with a `{ code, message }` body.
 */
function clientError(err: Error & { code?: string }, socket: Socket): void {
  // A reset connection is already gone; there is nobody to answer.
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, code, message] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, ApiErrorCode.REQUEST_TIMEOUT, "the request was not received in time"]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, ApiErrorCode.INVALID_REQUEST, "request headers are too large"]
        : [400, ApiErrorCode.INVALID_REQUEST, "malformed HTTP request"];
  const body = JSON.stringify({ code, message });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** Names of the integer properties of a querystring schema. */
function integerFields(schema: JsonSchema | undefined): string[] {
  const props = (schema?.properties ?? {}) as Record<string, JsonSchema>;
  return Object.keys(props).filter((k) => props[k]!.type === "integer");
}

/**
 * Query values arrive as text; ajv runs without coercion, so integer fields are converted here, and only
 * from plain decimal text (a sign allowed, so "-1" is reported as too small rather than as not a number).
 */
function queryIntegers(request: FastifyRequest, fields: readonly string[]): void {
  const query = request.query as Record<string, unknown>;
  for (const field of fields) {
    const value = query[field];
    if (typeof value === "string" && /^-?[0-9]{1,20}$/.test(value)) query[field] = Number(value);
  }
}

/** The status and `{ code, message }` for anything thrown while handling a request. */
function errorResponse(err: FastifyError, bodyLimit: number): { statusCode: number; body: ErrorBody } {
  if (err.validation !== undefined) {
    const part = err.validationContext ?? "request";
    return {
      statusCode: 400,
      body: {
        code: ApiErrorCode.INVALID_REQUEST,
        message: validationMessage(part, err.validation as unknown as SchemaError[]),
      },
    };
  }
  const client = clientErrorOf(err);
  if (client !== undefined) return client;
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return {
        statusCode: 413,
        body: { code: ApiErrorCode.BODY_TOO_LARGE, message: `request body exceeds ${bodyLimit} bytes` },
      };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return {
        statusCode: 415,
        body: { code: ApiErrorCode.UNSUPPORTED_MEDIA_TYPE, message: "content-type must be application/json" },
      };
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return {
        statusCode: 400,
        body: { code: ApiErrorCode.INVALID_JSON, message: "request body is not valid JSON" },
      };
    case "ECONNRESET":
      // The client broke off its own request (e.g. a malformed chunked body): nobody is left to
      // answer, and it is not the server's failure.
      return {
        statusCode: 400,
        body: { code: ApiErrorCode.INVALID_REQUEST, message: "the request was aborted by the client" },
      };
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return {
        statusCode: 400,
        body: { code: ApiErrorCode.INVALID_JSON, message: "request body is empty but content-type is JSON" },
      };
  }
  // Fastify's other client errors (bad content-length, malformed URL…) carry a safe message and a 4xx.
  if (typeof err.code === "string" && err.code.startsWith("FST_") && (err.statusCode ?? 500) < 500) {
    return {
      statusCode: err.statusCode!,
      body: { code: ApiErrorCode.INVALID_REQUEST, message: err.message },
    };
  }
  return { statusCode: 500, body: { code: ApiErrorCode.INTERNAL, message: "internal error" } };
}
