import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";

/**
 * JSON Schema (draft 2020-12) support for provider-declared schemas: checking that a schema is
 * valid when it is registered or validated, and validating data against it (conformance probes,
 * the capabilities engine). Remote `$ref`s are never fetched: a schema must be self-contained.
 * Not strict: vendor keywords (`x-...`, `example`) are common in providers' schemas and harmless;
 * formats (`date`, `uri`, ...) are checked.
 */
const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
addFormats(ajv);

/** Where (a JSON pointer into the schema or the data) and what. */
export interface SchemaProblem {
  pointer: string;
  detail: string;
}

export type SchemaCheck =
  | { ok: true; validate: ValidateFunction }
  /** `invalid`: the meta-schema rejects it; `unusable`: it cannot be compiled (an unresolvable `$ref`, an unknown `$schema`). */
  | ({ ok: false; kind: "invalid" | "unusable" } & SchemaProblem);

export function compileJsonSchema(schema: object): SchemaCheck {
  try {
    // validateSchema throws (rather than answering false) for a $schema it does not know.
    if (!ajv.validateSchema(schema)) {
      const error = (ajv.errors ?? [])[0];
      return { ok: false, kind: "invalid", pointer: error?.instancePath ?? "", detail: describe(error) };
    }
    return { ok: true, validate: ajv.compile(schema) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const hint = /no schema with key or ref/.test(message)
      ? " (only draft 2020-12 is supported: omit $schema or use https://json-schema.org/draft/2020-12/schema)"
      : "";
    return { ok: false, kind: "unusable", pointer: "", detail: `${message}${hint}` };
  } finally {
    ajv.removeSchema(schema); // compiled schemas are cached per object (and $id): keep the cache empty
  }
}

/** Why `schema` is not a usable JSON Schema, or null if it is. */
export function jsonSchemaProblem(schema: unknown): string | null {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return "Must be a JSON Schema object";
  const check = compileJsonSchema(schema);
  if (check.ok) return null;
  return check.kind === "invalid"
    ? `Not a valid JSON Schema (draft 2020-12): ${check.pointer || "/"} ${check.detail}`
    : `Not a usable JSON Schema: ${check.detail}`;
}

/** The first validation error of `value`, or null when it is valid. */
export function firstError(validate: ValidateFunction, value: unknown): SchemaProblem | null {
  if (validate(value)) return null;
  const error = (validate.errors ?? [])[0];
  return { pointer: error?.instancePath ?? "", detail: describe(error) };
}

function describe(error: ErrorObject | undefined): string {
  if (!error) return "is invalid";
  const params =
    error.keyword === "enum" ? ` (${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")})` : "";
  return `${error.message ?? "is invalid"}${params}`;
}

/** "`/properties/city/type` must be ...", with `(root)` for the document itself. */
export const describeProblem = (p: SchemaProblem) => `${p.pointer || "(root)"} ${p.detail}`;

/** A JSON pointer (`/properties/city/type`) appended to a JSON path (`$.x`): `$.x.properties.city.type`. */
export function appendPointer(path: string, pointer: string): string {
  if (!pointer) return path;
  return pointer
    .split("/")
    .slice(1)
    .map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce(
      (acc, key) => (/^\d+$/.test(key) ? `${acc}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${acc}.${key}` : `${acc}[${JSON.stringify(key)}]`),
      path,
    );
}
