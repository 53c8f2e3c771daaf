import { TxKind } from "@cardio/core";
import { formatDescription } from "./formats.js";

/** The parts of an ajv error the message is built from (ajv runs with `verbose`, so `data` is set). */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
  data?: unknown;
}

const TYPE_NAMES: Record<string, string> = {
  integer: "an integer",
  number: "a number",
  string: "a string",
  boolean: "true or false",
  object: "a JSON object",
  array: "an array",
  null: "null",
};

/** A value as it may be quoted back to the client: JSON, cut short. */
function show(value: unknown): string {
  let text: string;
  try {
    text = value === undefined ? "nothing" : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * One sentence naming the field that failed and what it must be, e.g. `body.bpm must be at most 300,
 * got 301`. Ajv stops at the first error (`allErrors: false`), so `errors[0]` is the one to report;
 * with `if`/`then`, ajv lists the inner error before the `if` keyword's own.
 */
export function validationMessage(part: string, errors: readonly SchemaError[]): string {
  const e = errors[0];
  if (e === undefined) return `${part} is invalid`;
  const path = part + e.instancePath.replace(/\//g, ".");
  const got = `, got ${show(e.data)}`;
  switch (e.keyword) {
    case "required":
      return `${path}.${String(e.params.missingProperty)} is required`;
    case "additionalProperties":
      return `${path} has an unknown field ${show(e.params.additionalProperty)}`;
    case "type": {
      const type = String(e.params.type);
      return `${path} must be ${TYPE_NAMES[type] ?? type}${got}`;
    }
    case "minimum":
      return `${path} must be at least ${String(e.params.limit)}${got}`;
    case "maximum":
      return `${path} must be at most ${String(e.params.limit)}${got}`;
    case "minLength":
      return `${path} must have at least ${String(e.params.limit)} characters`;
    case "maxLength":
      return `${path} must have at most ${String(e.params.limit)} characters`;
    case "format": {
      const what = formatDescription(String(e.params.format));
      return what === undefined ? `${path} ${e.message ?? "is invalid"}` : `${path} must be ${what}${got}`;
    }
    case "enum":
      return `${path} must be one of ${(e.params.allowedValues as unknown[]).map(show).join(", ")}${got}`;
    case "const":
      return `${path} must be ${show(e.params.allowedValue)}${got}`;
    case "discriminator": {
      // The only discriminated union is the JSON transaction, told apart by `kind`.
      const tag = String(e.params.tag);
      const kinds = Object.keys(TxKind).map(show).join(", ");
      return `${path}.${tag} must be one of ${kinds}, got ${show(e.params.tagValue)}`;
    }
    default:
      return `${path} ${e.message ?? "is invalid"}`;
  }
}
