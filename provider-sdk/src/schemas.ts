import Ajv2020, { ErrorObject, ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import type { JsonSchema } from "./types";

/**
 * JSON Schema (draft 2020-12) checks, configured as the platform checks the same schemas (not
 * strict about vendor keywords, formats checked), so a value this runtime accepts or sends is
 * one the platform accepts too.
 */
const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
addFormats(ajv);

/** Answers null for a valid value, else `<JSON pointer>: <problem>` (the pointer is empty at the root). */
export type Validator = (value: unknown) => string | null;

/** Compiles a schema; throws with the meta-schema's complaint when it is not a usable schema. */
export function compile(schema: JsonSchema, where: string): Validator {
  let validate: ValidateFunction;
  try {
    if (!ajv.validateSchema(schema)) throw new Error(describe((ajv.errors ?? [])[0]).replace(/^: /, "/: "));
    validate = ajv.compile(schema);
  } catch (error) {
    throw new Error(`${where} is not a usable JSON Schema (draft 2020-12): ${(error as Error).message}`);
  }
  return (value) => (validate(value) ? null : describe((validate.errors ?? [])[0]));
}

function describe(error: ErrorObject | undefined): string {
  if (!error) return "is invalid";
  const at = error.instancePath;
  const allowed = error.keyword === "enum" ? ` (${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")})` : "";
  return `${at}: ${error.message ?? "is invalid"}${allowed}`;
}
