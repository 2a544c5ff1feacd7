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

/** Deepest JSON nesting a request may have (objects and arrays); deeper is refused before any schema runs. */
export const MAX_JSON_DEPTH = 32;

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What is wrong with one string of the request, or null: lone UTF-16 surrogates and NUL are never text. */
export function textProblem(value: string): string | null {
  if (LONE_SURROGATE.test(value)) return "Invalid Unicode: a lone UTF-16 surrogate";
  if (value.includes("\u0000")) return "Invalid character: NUL (U+0000)";
  return null;
}

/**
 * Checks every string (keys included) of a parsed request part, and its nesting depth, before the
 * route's schema sees it: the kernel refuses what no route may store or echo (Firestore and most
 * consumers reject lone surrogates; NUL truncates strings in C-based tools). Iterative, so a deep
 * document cannot exhaust the stack. Returns one detail per offending field (at most 20).
 */
export function inputProblems(input: unknown, source: Source, maxDepth = MAX_JSON_DEPTH): ErrorDetail[] {
  const prefix = source === "body" ? "" : `${source}.`;
  const name = (path: (string | number)[]) => prefix + (path.length ? path.join(".") : source);
  const details: ErrorDetail[] = [];
  const stack: { value: unknown; path: (string | number)[]; depth: number }[] = [{ value: input, path: [], depth: 0 }];
  while (stack.length > 0 && details.length < 20) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === "string") {
      const problem = textProblem(value);
      if (problem) details.push({ field: name(path), message: problem, code: "invalid_string" });
      continue;
    }
    if (typeof value !== "object" || value === null) continue;
    if (depth >= maxDepth) {
      details.push({ field: name(path), message: `Nested more than ${maxDepth} levels deep`, code: "too_deep" });
      continue;
    }
    const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    for (const [key, child] of entries.reverse()) {
      if (typeof key === "string") {
        const problem = textProblem(key);
        if (problem) {
          details.push({
            field: name([...path, key.replace(/[\uD800-\uDFFF]/g, "\uFFFD").replaceAll("\u0000", "\uFFFD")]),
            message: `Field name: ${problem}`,
            code: "invalid_string",
          });
          continue;
        }
      }
      stack.push({ value: child, path: [...path, key], depth: depth + 1 });
    }
  }
  return details;
}

/** Throws VALIDATION_ERROR naming each field with invalid text or too deep nesting. */
export function assertCleanInput(input: unknown, source: Source): void {
  const details = inputProblems(input, source);
  if (details.length) throw new ApiError("VALIDATION_ERROR", details.map((d) => `${d.field}: ${d.message}`).join("; "), { details });
}
