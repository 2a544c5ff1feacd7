import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { RE2JS } from "re2js";

/**
 * JSON Schema (draft 2020-12) support for provider-declared schemas: checking that a schema is
 * valid when it is registered or validated, and validating data against it (conformance probes,
 * the capabilities engine). Remote `$ref`s are never fetched: a schema must be self-contained.
 * Not strict: vendor keywords (`x-...`, `example`) are common in providers' schemas and harmless;
 * formats (`date`, `uri`, ...) are checked.
 *
 * Providers' schemas are untrusted code: `pattern` and `patternProperties` run on re2js, a
 * linear-time engine (no catastrophic backtracking; no backreferences or lookaround, which are
 * refused with the pointer of the pattern), and a schema's size and depth and the size of the data
 * validated against it are bounded (docs/packages.md#json-schema-limits).
 */
export const SCHEMA_LIMITS = {
  /** Largest schema, as compact JSON. */
  maxSchemaBytes: 64 * 1024,
  /** Deepest nesting of objects and arrays in a schema (below the request body's own 32, which a
   * schema sits a few levels inside, so this limit is the one a provider meets). */
  maxSchemaDepth: 20,
  /** Longest single pattern. */
  maxPatternLength: 1024,
  /** Largest value validated against a schema, as compact JSON. */
  maxDataBytes: 1024 * 1024,
} as const;

/** A JavaScript pattern (as JSON Schema writes them) compiled for RE2: `\u00e9` and `[^]` translated. */
const compileLinear = (pattern: string) => RE2JS.compile(RE2JS.translateRegExp(pattern));
const linearRegExp = Object.assign((pattern: string) => compileLinear(pattern), { code: 'require("re2js").RE2JS.compile' });

const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true, code: { regExp: linearRegExp } });
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
  const limit = limitProblem(schema);
  if (limit) return { ok: false, kind: "unusable", ...limit };
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

/** Serialised size of `value` in bytes, stopping early past `max` (Infinity when past it). */
function jsonBytes(value: unknown, max: number): number {
  const text = JSON.stringify(value) ?? "";
  // Cheap first bound: a UTF-16 length already past max bytes is too large whatever the encoding.
  if (text.length > max) return Infinity;
  return Buffer.byteLength(text);
}

/** The schema's size, depth and patterns checked before ajv sees it: the first problem, with its pointer. */
function limitProblem(schema: object): SchemaProblem | null {
  const bytes = jsonBytes(schema, SCHEMA_LIMITS.maxSchemaBytes);
  if (bytes > SCHEMA_LIMITS.maxSchemaBytes) return { pointer: "", detail: `schema is larger than ${SCHEMA_LIMITS.maxSchemaBytes} bytes of JSON` };
  const walk = (node: unknown, pointer: string, depth: number): SchemaProblem | null => {
    if (typeof node !== "object" || node === null) return null;
    if (depth > SCHEMA_LIMITS.maxSchemaDepth) return { pointer, detail: `schema nests deeper than ${SCHEMA_LIMITS.maxSchemaDepth} levels` };
    const entries: [string, unknown][] = Array.isArray(node) ? node.map((v, i) => [String(i), v]) : Object.entries(node);
    for (const [key, value] of entries) {
      const at = `${pointer}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
      if (!Array.isArray(node) && key === "pattern" && typeof value === "string") {
        const problem = patternProblem(value);
        if (problem) return { pointer: at, detail: problem };
      }
      if (!Array.isArray(node) && key === "patternProperties" && typeof value === "object" && value !== null && !Array.isArray(value)) {
        for (const name of Object.keys(value)) {
          const problem = patternProblem(name);
          if (problem) return { pointer: `${at}/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`, detail: problem };
        }
      }
      const deeper = walk(value, at, depth + 1);
      if (deeper) return deeper;
    }
    return null;
  };
  return walk(schema, "", 1);
}

/** Why `pattern` cannot run on the linear-time engine, or null. */
function patternProblem(pattern: string): string | null {
  if (pattern.length > SCHEMA_LIMITS.maxPatternLength) return `pattern is longer than ${SCHEMA_LIMITS.maxPatternLength} characters`;
  try {
    compileLinear(pattern);
    return null;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return `pattern cannot run on the linear-time (RE2) engine: backreferences and lookaround are not supported (${reason})`;
  }
}

/** Why `schema` is not a usable JSON Schema, or null if it is. */
export function jsonSchemaProblem(schema: unknown): string | null {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return "Must be a JSON Schema object";
  const check = compileJsonSchema(schema);
  if (check.ok) return null;
  return check.kind === "invalid"
    ? `Not a valid JSON Schema (draft 2020-12): ${check.pointer || "/"} ${check.detail}`
    : `Not a usable JSON Schema: ${check.pointer ? `${check.pointer} ` : ""}${check.detail}`;
}

/** The first validation error of `value`, or null when it is valid. */
export function firstError(validate: ValidateFunction, value: unknown): SchemaProblem | null {
  if (jsonBytes(value, SCHEMA_LIMITS.maxDataBytes) > SCHEMA_LIMITS.maxDataBytes)
    return { pointer: "", detail: `is larger than ${SCHEMA_LIMITS.maxDataBytes} bytes of JSON, the most validated against a schema` };
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
