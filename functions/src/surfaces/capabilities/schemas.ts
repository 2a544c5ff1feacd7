import { z } from "zod";
import { iso, IsoDate } from "../../kernel/http/envelope";
import { CapabilityRefParam } from "../../domain/capabilities/naming";
import { INVOCATION_ERROR_CLASSES, type InvocationDoc } from "../../domain/capabilities/invocation";
import { type LastAttempt } from "../../domain/capabilities/state";

// ---------- Requests ----------

export const CapabilityParams = z.object({ id: CapabilityRefParam });

/** A capability named in a body or query: the same form as the path's, with a message that says so. */
export const CapabilityRefField = z
  .string()
  .superRefine((value, ctx) => {
    if (!CapabilityRefParam.safeParse(value).success)
      ctx.addIssue({ code: "custom", message: "Must be a capability: <package slug>.<capability id>" });
  })
  .meta({ example: "acme-weather.weather_forecast" });

const BindingId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, "Must be a binding id")
  .meta({ description: "A capability instance: one user's binding of the capability, created by an install.", example: "bnd_3ZkQ8bW1mN0pR5sT7vX9" });

/** IANA time zone names the runtime knows (Intl throws on unknown ones). */
const isTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/**
 * The user context of a provider-initiated call without a binding: a mock, pseudonymous user. Ids are
 * opaque tokens (no `@`, no spaces), so an e-mail address or a name cannot be sent by mistake.
 */
export const MockUser = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,128}$/, "Must be a pseudonymous id: letters, digits, '_', '.', ':' or '-' (no e-mail addresses or names)")
      .meta({ example: "usr_test_1" }),
    locale: z
      .string()
      .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "Must be a BCP 47 language tag, e.g. de-DE")
      .optional(),
    timezone: z.string().max(64).refine(isTimeZone, { message: "Must be an IANA time zone, e.g. Europe/Berlin" }).optional(),
  })
  .meta({ id: "MockUserContext", description: "Sent to your runtime as `user`. Pseudonymous: never a real user's e-mail or name." });
export type MockUser = z.output<typeof MockUser>;

const JsonObject = z.record(z.string(), z.unknown());

/** Either a binding (its parameters and user) or, for provider-initiated calls, a mock user (and parameters). */
const instanceRule =
  (what: "parameters" | "input") =>
  (value: { bindingId?: string | undefined; user?: unknown; parameters?: unknown; input?: unknown }, ctx: z.RefinementCtx) => {
    if (value.bindingId !== undefined) {
      if (value.user !== undefined)
        ctx.addIssue({ code: "custom", path: ["user"], message: "Not allowed with bindingId: the binding's user is used" });
      if (what === "parameters" && value.parameters !== undefined)
        ctx.addIssue({ code: "custom", path: ["parameters"], message: "Not allowed with bindingId: the binding's parameters are used" });
    } else if (value.user === undefined) {
      ctx.addIssue({ code: "custom", path: ["user"], message: "Required without bindingId: the mock user context the call is made for" });
    }
  };

export const InvokeBody = z
  .strictObject({
    bindingId: BindingId.optional().meta({
      description:
        "Invoke this capability instance (its parameters and user; its state is updated). Omit for a provider-initiated call with `user` and `parameters`.",
    }),
    parameters: JsonObject.optional().meta({
      description: "Without bindingId: the invocation parameters (validated against the capability's inputSchema; default `{}`).",
    }),
    user: MockUser.optional().meta({ description: "Without bindingId (required): the mock user context sent to your runtime." }),
    refresh: z
      .boolean()
      .optional()
      .meta({ description: "With bindingId: call the runtime even if the cached state is still fresh (default false)." }),
  })
  .superRefine((value, ctx) => {
    instanceRule("parameters")(value, ctx);
    if (value.bindingId === undefined && value.refresh !== undefined)
      ctx.addIssue({ code: "custom", path: ["refresh"], message: "Only with bindingId: provider-initiated calls always call the runtime" });
  })
  .meta({ id: "InvokeCapabilityRequest" });
export type InvokeBody = z.output<typeof InvokeBody>;

export const ActionBody = z
  .strictObject({
    action: z.string().min(1).max(64).meta({ description: "An action declared in the capability's descriptor.", example: "create_task" }),
    input: JsonObject.default({}).meta({ description: "Validated against the action's inputSchema." }),
    bindingId: BindingId.optional().meta({
      description:
        "Run the action for this capability instance's user (its cached state becomes stale). Omit for a provider-initiated call with `user`.",
    }),
    user: MockUser.optional().meta({ description: "Without bindingId (required): the mock user context sent to your runtime." }),
  })
  .superRefine(instanceRule("input"))
  .meta({ id: "CapabilityActionRequest" });
export type ActionBody = z.output<typeof ActionBody>;

export const StateQuery = z.object({ bindingId: BindingId });

export const HistoryQuery = z.object({
  bindingId: BindingId.optional().meta({ description: "Only this capability instance's invocations." }),
  since: z.iso.datetime({ offset: true }).optional().meta({ description: "Only invocations at or after this time (ISO 8601)." }),
  limit: z.coerce.number().int().min(1).max(100).default(100).meta({ description: "Page size (1–100, default 100: the last 100 invocations)." }),
  offset: z.coerce.number().int().min(0).max(10_000).default(0).meta({ description: "Invocations to skip (0–10,000), newest first." }),
});

export const RealtimeQuery = z.object({
  bindingId: BindingId.optional().meta({
    description: "Only this capability instance's changes (and its current state in the `ready` event). Omit for every instance of the capability.",
  }),
  lastEventId: z
    .string()
    .max(200)
    .optional()
    .meta({ description: "Resume after this event id, for clients that cannot send the `Last-Event-ID` header (the header wins)." }),
});

/** `Idempotency-Key`: 1–255 visible ASCII characters (a UUID is a good choice). */
export const IdempotencyKeyHeader = z.string().regex(/^[\x21-\x7e]{1,255}$/, "Must be 1 to 255 visible ASCII characters");

// ---------- Responses ----------

export const CapabilityStateOut = z
  .object({
    capability: z.string().meta({ example: "acme-weather.weather_forecast" }),
    bindingId: z.string(),
    status: z
      .enum(["fresh", "stale", "empty"])
      .meta({ description: "`fresh`: within its TTL; `stale`: expired (or invalidated by an action); `empty`: no successful invocation yet." }),
    data: z.unknown().meta({ description: "The `data` of the last successful invocation (null while empty)." }),
    versionId: z.string().nullable().meta({ description: "Package version whose outputSchema the data was validated against." }),
    invocationId: z.string().nullable().meta({ description: "The invocation that produced the data." }),
    fetchedAt: IsoDate.nullable(),
    expiresAt: IsoDate.nullable(),
    ttlSeconds: z.number().int().meta({ description: "Effective TTL of the data (docs/capabilities.md#state-and-ttl)." }),
    ttlRemainingSeconds: z.number().int().meta({ description: "Seconds until the data expires (0 when stale or empty)." }),
    invalidatedAt: IsoDate.nullable(),
    refreshing: z.boolean().meta({ description: "An invocation for this instance is in flight." }),
    lastError: z
      .object({
        invocationId: z.string(),
        errorClass: z.enum(INVOCATION_ERROR_CLASSES),
        message: z.string(),
        httpStatus: z.number().int().nullable(),
        at: IsoDate,
      })
      .nullable()
      .meta({ description: "The last attempt, when it failed (the data is then that of the last success)." }),
  })
  .meta({ id: "CapabilityState" });

export const InvokeOut = z
  .object({
    capability: z.string(),
    bindingId: z.string().nullable(),
    versionId: z.string(),
    invocationId: z.string().meta({ description: "The invocation that produced `data` (see history)." }),
    origin: z.enum(["provider", "coalesced", "cache"]).meta({
      description:
        "`provider`: this request called your runtime; `coalesced`: it joined a concurrent request's call for the same instance; `cache`: the instance's state was fresh.",
    }),
    data: z.unknown(),
    ttlSeconds: z.number().int(),
    fetchedAt: IsoDate,
    expiresAt: IsoDate,
    latencyMs: z.number().meta({ description: "Your runtime's latency in the invocation that produced the data." }),
  })
  .meta({ id: "CapabilityInvocationResult" });

export const ActionOut = z
  .object({
    capability: z.string(),
    action: z.string(),
    bindingId: z.string().nullable(),
    versionId: z.string(),
    invocationId: z.string(),
    httpStatus: z.number().int().meta({ description: "What your runtime answered (200 or 201)." }),
    result: z.unknown().meta({ description: "Your runtime's `result`." }),
    latencyMs: z.number(),
  })
  .meta({ id: "CapabilityActionResult" });

export const InvocationOut = z
  .object({
    id: z.string(),
    capability: z.string(),
    bindingId: z.string().nullable(),
    versionId: z.string(),
    kind: z.enum(["invoke", "action"]),
    action: z.string().nullable(),
    source: z
      .enum(["api", "sync", "user"])
      .meta({ description: "`api`: through this API; `sync`: the scheduled refresh of an installed instance; `user`: an Aiffinity client." }),
    status: z.enum(["ok", "error"]),
    httpStatus: z.number().int().nullable(),
    errorClass: z.enum(INVOCATION_ERROR_CLASSES).nullable().meta({ description: "docs/capabilities.md#errors" }),
    errorMessage: z.string().nullable(),
    latencyMs: z.number(),
    requestBytes: z.number().int(),
    responseBytes: z.number().int(),
    at: IsoDate,
  })
  .meta({ id: "CapabilityInvocation" });

// ---------- Mappers ----------

export const toInvocationOut = (i: InvocationDoc & { id: string }): z.input<typeof InvocationOut> => ({
  id: i.id,
  capability: i.capabilityRef,
  bindingId: i.bindingId,
  versionId: i.versionId,
  kind: i.kind,
  action: i.action,
  source: i.source,
  status: i.status,
  httpStatus: i.httpStatus,
  errorClass: i.errorClass,
  errorMessage: i.errorMessage,
  latencyMs: i.latencyMs,
  requestBytes: i.requestBytes,
  responseBytes: i.responseBytes,
  at: iso(i.at),
});

export const toLastErrorOut = (a: LastAttempt | null) =>
  a && a.status === "error" && a.errorClass
    ? { invocationId: a.invocationId, errorClass: a.errorClass, message: a.errorMessage ?? "", httpStatus: a.httpStatus, at: iso(a.at) }
    : null;
