import { createHash } from "node:crypto";
import { z } from "zod";
import type { Principal } from "../auth/principal";
import { canonicalJson } from "../crypto";
import { ApiError, type ErrorCode } from "../errors";
import { IdempotencyKeys, type StoredResponse } from "../idempotency";
import { open, seal } from "../secretBox";

/**
 * The kernel's guards for writes (docs/errors.md#concurrent-writes, #idempotent-requests):
 * ETags and `If-Match`, and `Idempotency-Key` on the POSTs that create something.
 */

/** `Idempotency-Key`: 1–255 visible ASCII characters (a UUID is a good choice). */
export const IdempotencyKeyHeader = z.string().regex(/^[\x21-\x7e]{1,255}$/, "Must be 1 to 255 visible ASCII characters");

export const ifMatchHeader = z.string().max(1024).meta({
  description:
    'Only apply the change if the resource\'s current ETag is one of these (strong comparison: a weak `W/"..."` tag never matches); `*` matches any current version. A stale ETag answers 412 PRECONDITION_FAILED.',
});

/** A strong ETag: a hash of the resource's JSON representation (key order does not matter). */
export function etagOf(representation: unknown): string {
  const json = canonicalJson(JSON.parse(JSON.stringify(representation ?? null)));
  return `"${createHash("sha256").update(json).digest("base64url").slice(0, 27)}"`;
}

/** RFC 9110 §13.1.1: If-Match uses the strong comparison, so weak tags never match; `*` matches an existing resource. */
export function ifMatchSatisfied(header: string, current: string): boolean {
  const tags = header.split(",").map((t) => t.trim());
  return tags.some((t) => t === "*" || t === current);
}

export const preconditionFailed = () =>
  new ApiError(
    "PRECONDITION_FAILED",
    "The resource changed since you read it (If-Match does not match its ETag); GET it again and reapply your change",
  );

/** Who an idempotency key or a resource lease belongs to: the account (or end user) behind the caller. */
export function principalScope(principal: Principal): string | null {
  switch (principal.kind) {
    case "provider":
      return `account:${principal.account.id}`;
    case "app":
      return `account:${principal.accountId}`;
    case "user":
      return `user:${principal.uid}`;
    case "reviewer":
      return `user:${principal.user.uid}`;
    case "anonymous":
      return null;
  }
}

/** What a route produced, before the envelope (which carries the request id of each answer). */
export interface Produced {
  status: number;
  payload: unknown;
  headers: Record<string, string>;
}

/** The answer of a request that ran, or a stored one replayed. */
export type Outcome = { kind: "data"; produced: Produced } | { kind: "error"; error: ApiError };

/** A transient refusal (the resource busy, rate limited, unavailable): retrying the key must run again, so it is not stored. */
const transient = (error: ApiError) => error.options.headers?.["Retry-After"] !== undefined || error.status >= 500;

const idempotencyKeys = new IdempotencyKeys();
const IDEMPOTENT_LEASE_MS = 30_000;
/** Stored answers above this are replaced by a pointer to the resource (the record must fit in 1 MiB). */
const MAX_STORED_CHARS = 700 * 1024;

/**
 * Runs `execute` at most once per (caller, key): the same key and request replay the stored answer
 * (`replayed`), another request with the key is 422, a concurrent one waits for the first. Errors
 * the handler decided (4xx) are stored and replayed too; unexpected and transient ones release
 * the key so a retry runs again.
 */
export async function runIdempotent(args: {
  scope: string;
  key: string;
  operation: string;
  request: unknown;
  sealed: boolean;
  execute: () => Promise<Produced>;
}): Promise<{ outcome: Outcome; replayed: boolean }> {
  const context = `idempotency/${args.scope}/${args.operation}`;
  let fresh: Outcome | undefined; // this request's own answer, as it ran (not its stored form)
  const { response, replayed } = await idempotencyKeys.run({
    scope: args.scope,
    key: args.key,
    operation: args.operation,
    request: args.request,
    leaseMs: IDEMPOTENT_LEASE_MS,
    execute: async (): Promise<StoredResponse> => {
      let outcome: Outcome;
      try {
        outcome = { kind: "data", produced: await args.execute() };
      } catch (error) {
        if (!(error instanceof ApiError) || transient(error)) throw error;
        outcome = { kind: "error", error };
      }
      fresh = outcome;
      let stored: object =
        outcome.kind === "data"
          ? { produced: outcome.produced }
          : { error: { code: outcome.error.code, message: outcome.error.message, details: outcome.error.options.details ?? null } };
      let status = outcome.kind === "data" ? outcome.produced.status : outcome.error.status;
      if (JSON.stringify(stored).length > MAX_STORED_CHARS) {
        // Too large for the record (a Firestore document holds 1 MiB): the retry learns it already ran, and where.
        const where = outcome.kind === "data" ? outcome.produced.headers.Location : undefined;
        const message = `The request with this Idempotency-Key already ran${where ? ` (it created ${where})` : ""}; its answer is too large to replay: read the resource instead`;
        stored = { error: { code: "CONFLICT", message, details: null } };
        status = 409;
      }
      // Answers that hold a secret are kept encrypted, bound to the caller and operation.
      return { status, body: args.sealed ? { sealed: seal(JSON.stringify(stored), context) } : stored };
    },
  });
  if (!replayed && fresh) return { outcome: fresh, replayed };
  const body = response.body as { sealed?: string };
  const stored = (typeof body.sealed === "string" ? JSON.parse(open(body.sealed, context)) : body) as {
    produced?: Produced;
    error?: { code: ErrorCode; message: string; details: ApiError["options"]["details"] | null };
  };
  if (stored.produced) return { outcome: { kind: "data", produced: stored.produced }, replayed };
  const e = stored.error!;
  return { outcome: { kind: "error", error: new ApiError(e.code, e.message, e.details ? { details: e.details } : {}) }, replayed };
}
