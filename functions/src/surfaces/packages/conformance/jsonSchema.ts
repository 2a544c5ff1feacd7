import Ajv2020, { ErrorObject, ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";

/**
 * JSON Schema (draft 2020-12) checks for capability descriptors. One Ajv instance per schema, so
 * two schemas with the same `$id` never collide. Not strict: vendor keywords (`x-...`, `example`)
 * are common in providers' schemas and harmless.
 */
function newAjv() {
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
  addFormats(ajv);
  return ajv;
}

export type SchemaCheck = { ok: true; validate: ValidateFunction } | { ok: false; pointer: string; message: string };

export function compileJsonSchema(schema: Record<string, unknown>): SchemaCheck {
  const ajv = newAjv();
  try {
    // validateSchema throws (rather than answering false) for a $schema it does not know.
    if (!ajv.validateSchema(schema)) {
      const error = (ajv.errors ?? [])[0];
      return { ok: false, pointer: error?.instancePath ?? "", message: describe(error) };
    }
    return { ok: true, validate: ajv.compile(schema) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const hint = /no schema with key or ref/.test(message) ? " (only draft 2020-12 is supported: omit $schema or use https://json-schema.org/draft/2020-12/schema)" : "";
    return { ok: false, pointer: "", message: `${message}${hint}` };
  }
}

/** The first validation error of `value`, or null when it is valid. */
export function firstError(validate: ValidateFunction, value: unknown): { pointer: string; message: string } | null {
  if (validate(value)) return null;
  const error = (validate.errors ?? [])[0];
  return { pointer: error?.instancePath ?? "", message: describe(error) };
}

function describe(error: ErrorObject | undefined): string {
  if (!error) return "is invalid";
  const params = error.keyword === "enum" ? ` (${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")})` : "";
  return `${error.instancePath || "(root)"} ${error.message ?? "is invalid"}${params}`;
}

/** A JSON pointer (`/properties/city/type`) appended to a JSON path (`$.x`): `$.x.properties.city.type`. */
export function appendPointer(path: string, pointer: string): string {
  if (!pointer) return path;
  return pointer
    .split("/")
    .slice(1)
    .map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, key) => (/^\d+$/.test(key) ? `${acc}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${acc}.${key}` : `${acc}[${JSON.stringify(key)}]`), path);
}
