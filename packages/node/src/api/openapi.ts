import type { ApiRoute } from "./route.js";
import { components, type JsonSchema } from "./schemas.js";

/** An OpenAPI 3.1 document, as plain JSON. */
export type OpenApiDocument = Record<string, unknown>;

/** Options of `buildOpenApi`. */
export interface OpenApiInfo {
  title?: string;
  version?: string;
}

const byObject = new Map<object, string>(Object.entries(components).map(([name, schema]) => [schema, name]));

/**
 * Replaces every schema object that is one of the named `components` (by identity, so an edited copy
 * stays inline) with a `$ref`, and gives each discriminator the `mapping` OpenAPI wants (ajv refuses
 * `mapping`, so the route schemas cannot carry it).
 */
function withRefs(schema: unknown, root?: object): unknown {
  if (Array.isArray(schema)) return schema.map((s) => withRefs(s));
  if (schema === null || typeof schema !== "object") return schema;
  const name = byObject.get(schema);
  if (name !== undefined && schema !== root) return { $ref: `#/components/schemas/${name}` };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) out[key] = withRefs(value);
  const discriminator = (schema as JsonSchema).discriminator as { propertyName: string } | undefined;
  const oneOf = (schema as JsonSchema).oneOf as JsonSchema[] | undefined;
  if (discriminator !== undefined && oneOf !== undefined) {
    const mapping: Record<string, string> = {};
    for (const branch of oneOf) {
      const tag = (branch.properties as Record<string, JsonSchema> | undefined)?.[discriminator.propertyName]
        ?.const;
      const ref = byObject.get(branch);
      if (typeof tag === "string" && ref !== undefined) mapping[tag] = `#/components/schemas/${ref}`;
    }
    out.discriminator = { ...discriminator, mapping };
  }
  return out;
}

function parameters(where: "path" | "query", schema: JsonSchema | undefined): unknown[] {
  if (schema === undefined) return [];
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries((schema.properties as Record<string, JsonSchema>) ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === "path" || required.has(name),
    ...(typeof s.description === "string" ? { description: s.description } : {}),
    schema: withRefs(s),
  }));
}

/** The OpenAPI 3.1 document of `routes`, generated from the schemas fastify validates and serialises with. */
export function buildOpenApi(routes: readonly ApiRoute[], info: OpenApiInfo = {}): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(route.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.schema === undefined
          ? {}
          : { content: { [r.contentType ?? "application/json"]: { schema: withRefs(r.schema) } } }),
      };
    }
    responses.default = {
      description: "Any other error, e.g. 404 for an unknown route or 500 (which shows nothing internal).",
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
    const params = [...parameters("path", route.params), ...parameters("query", route.querystring)];
    const item = paths[path] ?? {};
    paths[path] = item;
    item[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description === undefined ? {} : { description: route.description }),
      ...(params.length === 0 ? {} : { parameters: params }),
      ...(route.body === undefined
        ? {}
        : {
            requestBody: {
              required: true,
              content: { "application/json": { schema: withRefs(route.body) } },
            },
          }),
      responses,
    };
  }
  const schemas: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(components)) schemas[name] = withRefs(schema, schema);
  return {
    openapi: "3.1.0",
    info: {
      title: info.title ?? "cardio node API",
      version: info.version ?? "1",
      description:
        "HTTP API of a cardio node. Amounts are decimal strings (u64), hashes and signatures hex, " +
        "addresses libp2p PeerId strings. Every error body is { code, message }.",
    },
    paths,
    components: { schemas },
  };
}
