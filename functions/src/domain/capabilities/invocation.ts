import { z } from "zod";
import { typedCollection, zDate } from "../../kernel/firestore";

/** Why an invocation failed; each maps to a documented API error (docs/errors.md). */
export const INVOCATION_ERROR_CLASSES = [
  "timeout", // no complete answer within the deadline
  "connection_refused",
  "network", // DNS, TLS, reset...
  "url_rejected", // the endpoint is not an allowed target (SSRF rules)
  "auth_failed", // the provider's token URL failed us, or it answered 401/403
  "http_4xx",
  "http_5xx",
  "bad_body", // not JSON, or not the contract's shape
  "output_invalid", // JSON, but not valid against the capability's output schema
  "too_large",
  "runtime_paused", // the runtime app is paused or not registered
] as const;
export type InvocationErrorClass = (typeof INVOCATION_ERROR_CLASSES)[number];

/** Error classes that count against availability (the provider was not there to answer). */
export const UNAVAILABLE_ERROR_CLASSES: readonly InvocationErrorClass[] = ["timeout", "connection_refused", "network", "http_5xx"];

/**
 * invocations/{id}: one per call the platform made to a provider runtime on behalf of a binding or
 * of the provider itself (sandbox runs are not recorded here). Never secrets or personal data:
 * sizes, timings and classes only. Quality monitoring aggregates these into rollups.
 */
export const InvocationDoc = z.object({
  capabilityKey: z.string(),
  capabilityRef: z.string(),
  packageId: z.string(),
  capabilityId: z.string(),
  versionId: z.string(),
  accountId: z.string(),
  appId: z.string(),
  bindingId: z.string().nullable(),
  kind: z.enum(["invoke", "action"]),
  action: z.string().nullable(),
  /** Who asked: the provider through the API, the scheduler, or a user from an Aiffinity client. */
  source: z.enum(["api", "sync", "user"]),
  status: z.enum(["ok", "error"]),
  httpStatus: z.number().int().nullable(),
  errorClass: z.enum(INVOCATION_ERROR_CLASSES).nullable(),
  /** A short, generic description of the failure (no payloads, no personal data). */
  errorMessage: z.string().nullable(),
  latencyMs: z.number().min(0),
  requestBytes: z.number().int().min(0),
  responseBytes: z.number().int().min(0),
  /** When the invocation finished. */
  at: zDate,
});
export type InvocationDoc = z.infer<typeof InvocationDoc>;

export const invocations = () => typedCollection("invocations", InvocationDoc);

/** Invocations of a capability (optionally one binding), newest first, at or after `since`, and how many match. */
export async function listInvocations(args: {
  capabilityKey: string;
  bindingId?: string | undefined;
  since?: Date | undefined;
  limit: number;
  offset: number;
}) {
  let query = invocations().where("capabilityKey", "==", args.capabilityKey);
  if (args.bindingId) query = query.where("bindingId", "==", args.bindingId);
  if (args.since) query = query.where("at", ">=", args.since);
  const [page, count] = await Promise.all([
    query.orderBy("at", "desc").orderBy("__name__", "desc").offset(args.offset).limit(args.limit).get(),
    query.count().get(),
  ]);
  return { items: page.docs.map((d) => ({ id: d.id, ...d.data() })), total: count.data().count };
}
