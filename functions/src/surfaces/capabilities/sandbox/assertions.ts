import { runInNewContext } from "node:vm";
import { z } from "zod";

/**
 * The sandbox's assertion language (docs/sandbox.md): what a scenario expects of the runtime's answer.
 * Each assertion is a small JSON object; a run evaluates every one and reports each result.
 */

/** `$`, then `.name`, `['name']` / `["name"]` and `[index]` segments: one value, no wildcards. */
export type PathSegment = string | number;

const PATH_TOKEN = /^(?:\.([A-Za-z_$][A-Za-z0-9_$-]*)|\[(\d{1,9})\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\])/;

export function parseJsonPath(path: string): PathSegment[] | null {
  if (!path.startsWith("$")) return null;
  const segments: PathSegment[] = [];
  let rest = path.slice(1);
  while (rest.length) {
    const match = PATH_TOKEN.exec(rest);
    if (!match) return null;
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push((match[3] ?? match[4])!.replace(/\\(.)/g, "$1"));
    rest = rest.slice(match[0].length);
  }
  return segments;
}

/** The value at `segments`, or `found: false` when the path leads nowhere. */
export function valueAt(root: unknown, segments: PathSegment[]): { found: boolean; value?: unknown } {
  let current = root;
  for (const segment of segments) {
    if (typeof segment === "number") {
      if (!Array.isArray(current) || segment >= current.length) return { found: false };
      current = current[segment];
    } else {
      if (typeof current !== "object" || current === null || Array.isArray(current) || !Object.prototype.hasOwnProperty.call(current, segment))
        return { found: false };
      current = (current as Record<string, unknown>)[segment];
    }
  }
  return { found: true, value: current };
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((v, i) => deepEqual(v, (b as unknown[])[i]));
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return (
    ka.length === kb.length &&
    ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

/** Patterns come from providers: run them with a time limit, so a catastrophic one cannot stall the API. */
const REGEX_TIME_LIMIT_MS = 50;

export function regexMatches(pattern: string, subject: string): boolean | "timeout" {
  try {
    return runInNewContext("new RegExp(pattern, 'u').test(subject)", { pattern, subject }, { timeout: REGEX_TIME_LIMIT_MS }) as boolean;
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_SCRIPT_EXECUTION_TIMEOUT") return "timeout";
    throw error;
  }
}

const regexProblem = (pattern: string) => {
  try {
    new RegExp(pattern, "u");
    return null;
  } catch (error) {
    return `Not a valid regular expression: ${(error as Error).message}`;
  }
};

const jsonPath = z
  .string()
  .min(1)
  .max(500)
  .refine((p) => parseJsonPath(p) !== null, { message: "Must be a JSON path: $ followed by .name, ['name'] or [index] segments" })
  .meta({ example: "$.data.days[0].condition" });

export const Assertion = z
  .discriminatedUnion("type", [
    z
      .strictObject({
        type: z.literal("status").meta({ description: "The HTTP status your runtime answered (null when it did not answer)." }),
        equals: z.number().int().min(100).max(599).optional(),
        in: z.array(z.number().int().min(100).max(599)).min(1).max(20).optional(),
      })
      .refine((a) => (a.equals === undefined) !== (a.in === undefined), { message: "Give exactly one of equals or in" }),
    z.strictObject({
      type: z.literal("latency").meta({ description: "Your runtime answered in less than `lessThanMs` milliseconds." }),
      lessThanMs: z.number().int().min(1).max(60_000),
    }),
    z
      .strictObject({
        type: z.literal("jsonPath").meta({ description: "A value in the response body (`$` is the whole body, e.g. `$.data.location`)." }),
        path: jsonPath,
        equals: z.unknown().optional().meta({ description: "Deep-equals this JSON value." }),
        exists: z.boolean().optional().meta({ description: "The path leads to a value (true) or to nothing (false)." }),
        matches: z
          .string()
          .min(1)
          .max(500)
          .superRefine((p, ctx) => {
            const problem = regexProblem(p);
            if (problem) ctx.addIssue({ code: "custom", message: problem });
          })
          .optional()
          .meta({ description: "A regular expression (JavaScript, `u` flag) the value matches; non-strings are matched as JSON." }),
      })
      .refine((a) => [a.equals !== undefined || "equals" in a, a.exists !== undefined, a.matches !== undefined].filter(Boolean).length === 1, {
        message: "Give exactly one of equals, exists or matches",
      }),
    z.strictObject({
      type: z
        .literal("outputSchema")
        .meta({ description: "The response's `data` validates against the capability's outputSchema (invoke scenarios)." }),
    }),
  ])
  .meta({ id: "SandboxAssertion" });
export type Assertion = z.output<typeof Assertion>;

/** What a run observed, for the assertions to judge. */
export interface Observation {
  httpStatus: number | null;
  latencyMs: number;
  /** The response body parsed as JSON; undefined when there was none or it was not JSON. */
  body: unknown;
  /** Why `data` does not match the output schema, null if it does; undefined for actions. */
  outputProblem: string | null | undefined;
}

export interface AssertionResult {
  index: number;
  type: Assertion["type"];
  passed: boolean;
  /** What the assertion expected, in words. */
  expected: string;
  /** What the run produced (a JSON value, truncated for long ones). */
  actual: unknown;
  message: string;
}

const MAX_ACTUAL_CHARS = 2_000;
const short = (value: unknown): unknown => {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  return text.length > MAX_ACTUAL_CHARS ? `${text.slice(0, MAX_ACTUAL_CHARS)}…` : value;
};

export function evaluate(assertion: Assertion, index: number, o: Observation): AssertionResult {
  const result = (passed: boolean, expected: string, actual: unknown, message: string): AssertionResult => ({
    index,
    type: assertion.type,
    passed,
    expected,
    actual: short(actual),
    message,
  });
  switch (assertion.type) {
    case "status": {
      const allowed = assertion.in ?? [assertion.equals!];
      const expected = allowed.length === 1 ? `status ${allowed[0]}` : `status in ${allowed.join(", ")}`;
      const passed = o.httpStatus !== null && allowed.includes(o.httpStatus);
      return result(
        passed,
        expected,
        o.httpStatus,
        passed ? `Answered ${o.httpStatus}` : o.httpStatus === null ? "The runtime did not answer" : `Answered ${o.httpStatus}`,
      );
    }
    case "latency": {
      const passed = o.httpStatus !== null && o.latencyMs < assertion.lessThanMs;
      return result(
        passed,
        `latency under ${assertion.lessThanMs} ms`,
        o.latencyMs,
        o.httpStatus === null ? "The runtime did not answer" : `Answered in ${o.latencyMs} ms`,
      );
    }
    case "jsonPath": {
      const expected =
        assertion.exists !== undefined
          ? `${assertion.path} ${assertion.exists ? "exists" : "does not exist"}`
          : assertion.matches !== undefined
            ? `${assertion.path} matches /${assertion.matches}/`
            : `${assertion.path} equals ${JSON.stringify(assertion.equals)}`;
      if (o.body === undefined) return result(false, expected, null, "The response body is not JSON");
      const { found, value } = valueAt(o.body, parseJsonPath(assertion.path)!);
      if (assertion.exists !== undefined)
        return result(found === assertion.exists, expected, found ? value : null, found ? "The path has a value" : "Nothing at this path");
      if (!found) return result(false, expected, null, "Nothing at this path");
      if (assertion.matches !== undefined) {
        const matched = regexMatches(assertion.matches, typeof value === "string" ? value : JSON.stringify(value));
        if (matched === "timeout") return result(false, expected, value, `The pattern took longer than ${REGEX_TIME_LIMIT_MS} ms and was stopped`);
        return result(matched, expected, value, matched ? "Matches" : "Does not match");
      }
      const equal = deepEqual(value, assertion.equals ?? null);
      return result(equal, expected, value, equal ? "Equal" : "Not equal");
    }
    case "outputSchema": {
      if (o.outputProblem === undefined) return result(false, "data matches the outputSchema", null, "Only invoke scenarios have an output schema");
      return result(o.outputProblem === null, "data matches the outputSchema", o.outputProblem, o.outputProblem ?? "Valid");
    }
  }
}
