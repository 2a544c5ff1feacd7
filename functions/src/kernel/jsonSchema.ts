import Ajv2020 from "ajv/dist/2020";

/**
 * JSON Schema (draft 2020-12) support for provider-declared schemas: checking that a schema is
 * valid when it is registered, and (for the capabilities engine) validating data against it.
 * Remote `$ref`s are never fetched: a schema must be self-contained.
 */
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });

/** Why `schema` is not a usable JSON Schema, or null if it is. */
export function jsonSchemaProblem(schema: unknown): string | null {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return "Must be a JSON Schema object";
  if (!ajv.validateSchema(schema as object)) {
    const first = ajv.errors?.[0];
    return `Not a valid JSON Schema (draft 2020-12): ${first ? `${first.instancePath || "/"} ${first.message}` : "rejected by the meta-schema"}`;
  }
  try {
    ajv.compile(schema as object);
  } catch (error) {
    return `Not a usable JSON Schema: ${(error as Error).message}`;
  } finally {
    ajv.removeSchema(schema as object); // compiled schemas are cached per object: keep the cache empty
  }
  return null;
}
