import { z } from "zod";
import { ApiError, type ErrorDetail } from "./errors";

const plural = (n: number | bigint, word: string) => `${n} ${word}${Number(n) === 1 ? "" : "s"}`;
const typeName = (input: unknown) => (input === null ? "null" : Array.isArray(input) ? "array" : typeof input);

/**
 * Default messages in the style of the API reference ("String must contain at least 1
 * character"). Messages a schema sets itself take precedence over these.
 */
z.config({
  customError: (issue) => {
    switch (issue.code) {
      case "invalid_type":
        return issue.input === undefined ? "Required" : `Expected ${issue.expected}, received ${typeName(issue.input)}`;
      case "too_small": {
        const bound = issue.inclusive === false ? "more than" : "at least";
        if (issue.origin === "string") return `String must contain ${bound} ${plural(issue.minimum, "character")}`;
        if (issue.origin === "array" || issue.origin === "set") return `Array must contain ${bound} ${plural(issue.minimum, "item")}`;
        return `Number must be ${issue.inclusive === false ? "greater than" : "greater than or equal to"} ${issue.minimum}`;
      }
      case "too_big": {
        const bound = issue.inclusive === false ? "fewer than" : "at most";
        if (issue.origin === "string") return `String must contain ${bound} ${plural(issue.maximum, "character")}`;
        if (issue.origin === "array" || issue.origin === "set") return `Array must contain ${bound} ${plural(issue.maximum, "item")}`;
        return `Number must be ${issue.inclusive === false ? "less than" : "less than or equal to"} ${issue.maximum}`;
      }
      case "invalid_format":
        if (issue.format === "email") return "Invalid e-mail address";
        if (issue.format === "url") return "Invalid URL";
        if (issue.format === "regex") return "Invalid format";
        return `Invalid ${issue.format}`;
      case "invalid_value":
        if (issue.input === undefined) return "Required";
        return `Expected one of: ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
      case "unrecognized_keys":
        return "Unknown field";
      default:
        return undefined;
    }
  },
});

export type Source = "body" | "query" | "path" | "header";

/** Flattens zod issues into one detail per field; unknown keys become one detail each. */
function issuesToDetails(error: z.ZodError, source: Source): ErrorDetail[] {
  const prefix = source === "body" ? "" : `${source}.`;
  const details: ErrorDetail[] = [];
  for (const issue of error.issues) {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        details.push({ field: prefix + (base ? `${base}.${key}` : key), message: issue.message, code: issue.code });
      }
      continue;
    }
    details.push({ field: prefix + (base || (source === "body" ? "body" : source)), message: issue.message, code: issue.code });
  }
  return details;
}

export function validationError(error: z.ZodError, source: Source): ApiError {
  const details = issuesToDetails(error, source);
  return new ApiError("VALIDATION_ERROR", details.map((d) => `${d.field}: ${d.message}`).join("; "), { details });
}

/** Parses `input` or throws a VALIDATION_ERROR naming each field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, source: Source): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw validationError(result.error, source);
  return result.data;
}

/**
 * For PATCH bodies: names each field the client may read but not change ("Field is read-only")
 * before the strict schema runs, which would only call it unknown. Use as `readOnlyFields([...]).pipe(schema)`.
 */
export const readOnlyFields = (fields: readonly string[]) =>
  z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
    for (const key of Object.keys(value)) {
      if (fields.includes(key)) ctx.addIssue({ code: "custom", path: [key], message: "Field is read-only" });
    }
  });
