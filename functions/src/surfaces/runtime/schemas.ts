import { z } from "zod";
import { PROVIDER_EVENT_TYPES } from "../../domain/events/providerEvents";
import { iso, isoOrNull, PageQuery, IsoDate } from "../../kernel/http/envelope";
import { jsonSchemaProblem } from "../../kernel/jsonSchema";
import { secureUrl } from "../../kernel/urls";
import { ATTEMPT_OUTCOMES, DELIVERY_STATUSES } from "../../domain/runtime/webhookDelivery";
import { AppId } from "../../domain/accounts/app";
import { type AuthProfileDoc, type CapabilityTemplateDoc, type RuntimeApp, type WebhookProfileDoc } from "../../domain/runtime/runtimeApp";
import { RUNTIME_APP_STATUSES, RetryPolicy, SURFACES, TEMPLATE_PLACEHOLDER, TOKEN_AUTH_METHODS } from "../../domain/runtime/runtimeApp";
import { type WebhookDelivery } from "../../domain/runtime/webhookDelivery";

// ---------- Requests ----------

export const RuntimeAppIdParams = z.object({
  id: z
    .string()
    .regex(/^rt_[0-9A-Za-z]{20}$/)
    .meta({ example: "rt_3ZkQ8bW1mN0pR5sT7vX9" }),
});

const displayName = z.string().trim().min(1).max(80);
const endpointUrl = secureUrl().meta({
  description: "Base URL of your runtime (https; http://localhost is accepted on the emulators only).",
  example: "https://runtime.acme.example",
});

export const RegisterRuntimeAppBody = z
  .strictObject({
    appId: AppId.meta({ description: "The console app (POST /v1/providers/apps) this runtime serves; it must belong to your account." }),
    endpointUrl,
    displayName: displayName.optional().meta({ description: "Defaults to the console app's name." }),
    status: z.enum(RUNTIME_APP_STATUSES).optional().meta({ description: "Default `active`; `paused` stops invocations." }),
  })
  .meta({ id: "RegisterRuntimeAppRequest" });

export const UpdateRuntimeAppBody = z
  .strictObject({ endpointUrl: endpointUrl.optional(), displayName: displayName.optional(), status: z.enum(RUNTIME_APP_STATUSES).optional() })
  .refine((v) => Object.keys(v).length > 0, { message: "Provide at least one field to update" })
  .meta({ id: "UpdateRuntimeAppRequest" });

/** Headers the platform sets itself, which an auth profile may not override. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "content-type",
  "connection",
  "transfer-encoding",
  "user-agent",
  "accept-encoding",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "aiffinity-request-id",
]);
const headerName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "Must be an HTTP header name (token characters only)")
  .refine((h) => !RESERVED_HEADERS.has(h.toLowerCase()), { message: "This header is set by the platform and cannot be configured" });
const headerValue = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^[\t\x20-\x7e]*$/, "Must be printable ASCII (no line breaks)");
const secretValue = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^[\x20-\x7e]+$/, "Must be printable ASCII");

export const AuthProfileBody = z
  .discriminatedUnion("type", [
    z.strictObject({
      type: z.literal("oauth2").meta({ description: "OAuth 2.0 client credentials against your token URL; the token is cached until it expires." }),
      tokenUrl: secureUrl(),
      clientId: z.string().min(1).max(512),
      clientSecret: secretValue,
      scope: z
        .string()
        .min(1)
        .max(1024)
        .regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/, "Must be space-separated scope tokens")
        .optional(),
      tokenEndpointAuthMethod: z
        .enum(TOKEN_AUTH_METHODS)
        .optional()
        .meta({ description: "How the client authenticates to your token URL (default client_secret_basic)." }),
    }),
    z.strictObject({
      type: z.literal("api_key").meta({ description: "A static key sent in a header of your choice." }),
      headerName,
      value: secretValue,
    }),
    z
      .strictObject({
        type: z
          .literal("custom")
          .meta({ description: "Header templates; `{{secret.NAME}}`, `{{timestamp}}` and `{{requestId}}` are substituted per request." }),
        headers: z
          .record(headerName, headerValue)
          .refine((h) => Object.keys(h).length >= 1 && Object.keys(h).length <= 10, { message: "Give 1 to 10 headers" }),
        secrets: z
          .record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,31}$/, "Secret names are letters, digits and _"), secretValue)
          .refine((s) => Object.keys(s).length <= 10, { message: "At most 10 secrets" })
          .optional(),
      })
      .superRefine((profile, ctx) => {
        for (const [name, template] of Object.entries(profile.headers)) {
          for (const [, placeholder] of template.matchAll(TEMPLATE_PLACEHOLDER)) {
            const secret = placeholder!.startsWith("secret.") ? placeholder!.slice(7) : null;
            const known = placeholder === "timestamp" || placeholder === "requestId" || (secret !== null && secret in (profile.secrets ?? {}));
            if (!known) ctx.addIssue({ code: "custom", path: ["headers", name], message: `Unknown placeholder {{${placeholder}}}` });
          }
        }
      }),
  ])
  .meta({ id: "AuthProfileRequest" });
export type AuthProfileBody = z.output<typeof AuthProfileBody>;

const MAX_SCHEMA_CHARS = 32_768;
const jsonSchema = (description: string) =>
  z
    .record(z.string(), z.unknown())
    .superRefine((schema, ctx) => {
      if (JSON.stringify(schema).length > MAX_SCHEMA_CHARS)
        return void ctx.addIssue({ code: "custom", message: `Schema must be at most ${MAX_SCHEMA_CHARS} characters of JSON` });
      const problem = jsonSchemaProblem(schema);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .meta({ description: `${description} A JSON Schema (draft 2020-12), self-contained (no remote $ref).` });

const capabilityName = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "Lowercase letters, digits and _, starting with a letter");

const REFRESH_INTERVAL_BOUNDS = { min: 60, max: 86_400 };

const uniqueNames = <T extends { name: string }>(items: T[], ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (seen.has(item.name)) ctx.addIssue({ code: "custom", path: [index, "name"], message: `Duplicate name '${item.name}'` });
    seen.add(item.name);
  });
};

export const CapabilityTemplateBody = z
  .strictObject({
    capabilities: z
      .array(
        z.strictObject({
          name: capabilityName,
          description: z.string().trim().min(1).max(500),
          inputSchema: jsonSchema("Parameters of an invocation.").optional(),
          outputSchema: jsonSchema("What an invocation returns (the capability's state)."),
          refreshIntervalSeconds: z
            .number()
            .int()
            .min(REFRESH_INTERVAL_BOUNDS.min)
            .max(REFRESH_INTERVAL_BOUNDS.max)
            .meta({ description: "How often installed widgets refresh (60 s to 24 h)." }),
          actions: z
            .array(
              z.strictObject({
                name: capabilityName,
                description: z.string().trim().min(1).max(500),
                inputSchema: jsonSchema("Input of the action."),
                outputSchema: jsonSchema("Result of the action.").optional(),
              }),
            )
            .max(20)
            .superRefine(uniqueNames)
            .optional(),
          surfaceGuidance: z.strictObject({
            surfaces: z.array(z.enum(SURFACES)).min(1).max(SURFACES.length).meta({ description: "Where the capability may appear." }),
            summary: z.string().trim().min(1).max(280).optional().meta({ description: "One-line description shown to users." }),
            priority: z.enum(["low", "normal", "high"]).optional().meta({ description: "Ranking hint (default normal)." }),
            notes: z.string().trim().max(1000).optional().meta({ description: "Guidance for how the platform presents the data." }),
          }),
        }),
      )
      .min(1)
      .max(50)
      .superRefine(uniqueNames),
  })
  .meta({ id: "CapabilityTemplateRequest" });
export type CapabilityTemplateBody = z.output<typeof CapabilityTemplateBody>;

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 8, initialDelaySeconds: 30, maxDelaySeconds: 36_000 };

export const WebhookProfileBody = z
  .strictObject({
    url: secureUrl(),
    events: z
      .array(z.enum([...PROVIDER_EVENT_TYPES, "*"]))
      .min(1)
      .max(PROVIDER_EVENT_TYPES.length + 1)
      .refine((e) => new Set(e).size === e.length, { message: "Events must be unique" })
      .meta({ description: "Event types to receive (docs/webhooks.md), or `*` for all." }),
    retryPolicy: z
      .strictObject({
        maxAttempts: z.number().int().min(1).max(12).default(DEFAULT_RETRY_POLICY.maxAttempts),
        initialDelaySeconds: z.number().int().min(1).max(3600).default(DEFAULT_RETRY_POLICY.initialDelaySeconds),
        maxDelaySeconds: z.number().int().min(1).max(86_400).default(DEFAULT_RETRY_POLICY.maxDelaySeconds),
      })
      .refine((p) => p.maxDelaySeconds >= p.initialDelaySeconds, {
        message: "maxDelaySeconds must be at least initialDelaySeconds",
        path: ["maxDelaySeconds"],
      })
      .optional()
      .meta({ description: "Attempts in all (first included) and the exponential backoff between them (with jitter)." }),
  })
  .meta({ id: "WebhookProfileRequest" });
export type WebhookProfileBody = z.output<typeof WebhookProfileBody>;

export const CredentialSecretBody = z
  .strictObject({
    secret: z.string().max(200).optional().meta({ description: "Your own `whsec_` secret (24–64 bytes, base64). Omit to have one generated." }),
    gracePeriodSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .optional()
      .meta({ description: "How long the previous secret keeps signing alongside the new one (default 24 h)." }),
  })
  .meta({ id: "CredentialSecretRequest" });

export const DeliveriesQuery = PageQuery.extend({
  status: z.enum(DELIVERY_STATUSES).optional().meta({ description: "Only deliveries in this status." }),
});

// ---------- Responses ----------

export const AuthProfileOut = z
  .discriminatedUnion("type", [
    z.object({
      type: z.literal("oauth2"),
      tokenUrl: z.string(),
      clientId: z.string(),
      clientSecret: z.string().meta({ description: "Masked." }),
      scope: z.string().nullable(),
      tokenEndpointAuthMethod: z.enum(TOKEN_AUTH_METHODS),
      updatedAt: IsoDate,
    }),
    z.object({ type: z.literal("api_key"), headerName: z.string(), value: z.string().meta({ description: "Masked." }), updatedAt: IsoDate }),
    z.object({
      type: z.literal("custom"),
      headers: z.record(z.string(), z.string()).meta({ description: "The templates, as configured." }),
      secrets: z.record(z.string(), z.string()).meta({ description: "Secret names, values masked." }),
      updatedAt: IsoDate,
    }),
  ])
  .meta({ id: "AuthProfile" });

export const CapabilityTemplateOut = z
  .object({
    capabilities: z.array(
      z.object({
        name: z.string(),
        description: z.string(),
        inputSchema: z.record(z.string(), z.unknown()).nullable(),
        outputSchema: z.record(z.string(), z.unknown()),
        refreshIntervalSeconds: z.number().int(),
        actions: z.array(
          z.object({
            name: z.string(),
            description: z.string(),
            inputSchema: z.record(z.string(), z.unknown()),
            outputSchema: z.record(z.string(), z.unknown()).nullable(),
          }),
        ),
        surfaceGuidance: z.object({
          surfaces: z.array(z.enum(SURFACES)),
          summary: z.string().nullable(),
          priority: z.enum(["low", "normal", "high"]),
          notes: z.string().nullable(),
        }),
      }),
    ),
    updatedAt: IsoDate,
  })
  .meta({ id: "CapabilityTemplate" });

export const WebhookProfileOut = z
  .object({
    url: z.string(),
    events: z.array(z.string()),
    retryPolicy: RetryPolicy,
    status: z
      .enum(["enabled", "disabled"])
      .meta({ description: "`disabled` after the endpoint answered 410 Gone; PUT the profile again to re-enable it." }),
    disabledAt: IsoDate.nullable(),
    disabledReason: z.string().nullable(),
    updatedAt: IsoDate,
  })
  .meta({ id: "WebhookProfile" });

export const WebhookProfileResultOut = WebhookProfileOut.extend({
  signingSecret: z
    .string()
    .optional()
    .meta({ description: "Present only when this request created the app's first signing secret: store it now, it is never shown again." }),
}).meta({ id: "WebhookProfileResult" });

const CredentialSecretStateOut = z
  .object({
    configured: z.boolean(),
    createdAt: IsoDate.nullable(),
    previousSecretExpiresAt: IsoDate.nullable().meta({ description: "While set, the previous secret still signs too." }),
  })
  .meta({ id: "CredentialSecretState" });

export const CredentialSecretOut = z
  .object({
    secret: z
      .string()
      .meta({ description: "The new signing secret, shown only in this response.", example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }),
    createdAt: IsoDate,
    previousSecretExpiresAt: IsoDate.nullable(),
  })
  .meta({ id: "CredentialSecret" });

export const RuntimeAppOut = z
  .object({
    id: z.string(),
    appId: z.string(),
    displayName: z.string(),
    endpointUrl: z.string(),
    status: z.enum(RUNTIME_APP_STATUSES),
    authProfile: AuthProfileOut.nullable(),
    capabilityTemplate: CapabilityTemplateOut.nullable(),
    webhookProfile: WebhookProfileOut.nullable(),
    credentialSecret: CredentialSecretStateOut,
    lastInvokedAt: IsoDate.nullable(),
    createdAt: IsoDate,
    updatedAt: IsoDate,
  })
  .meta({ id: "RuntimeApp" });

export const HealthOut = z
  .object({
    runtimeAppId: z.string(),
    status: z.enum(["healthy", "degraded", "unreachable"]).meta({
      description:
        "`healthy`: the health endpoint answered 2xx with valid JSON and every registered capability; `degraded`: it answered, but not like that; `unreachable`: no answer (or our credentials for it could not be obtained).",
    }),
    runtimeStatus: z.enum(RUNTIME_APP_STATUSES),
    checkedAt: IsoDate,
    endpoint: z.object({
      url: z.string(),
      reachable: z.boolean(),
      statusCode: z.number().int().nullable(),
      latencyMs: z.number().int().nullable(),
      error: z.object({ kind: z.string(), message: z.string() }).nullable(),
    }),
    handlers: z.object({
      registered: z.array(z.string()).meta({ description: "Capabilities and actions (`capability.action`) in the capability template." }),
      reportedByProvider: z.array(z.string()).nullable().meta({ description: "What the health endpoint lists, if it does." }),
      missing: z.array(z.string()).meta({ description: "Registered but not reported by the provider." }),
    }),
    uptimeSeconds: z.number().nullable().meta({ description: "As reported by the provider's health endpoint." }),
    lastInvokedAt: IsoDate.nullable(),
  })
  .meta({ id: "RuntimeHealth" });

export const WebhookDeliveryOut = z
  .object({
    id: z.string().meta({ description: "The `webhook-id` header of every attempt." }),
    eventId: z.string(),
    type: z.string(),
    url: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attemptCount: z.number().int(),
    maxAttempts: z.number().int(),
    nextAttemptAt: IsoDate.nullable(),
    attempts: z.array(
      z.object({
        attempt: z.number().int(),
        startedAt: IsoDate,
        durationMs: z.number().int(),
        statusCode: z.number().int().nullable(),
        outcome: z.enum(ATTEMPT_OUTCOMES),
        error: z.string().nullable(),
      }),
    ),
    createdAt: IsoDate,
    completedAt: IsoDate.nullable(),
  })
  .meta({ id: "WebhookDelivery" });

export const TestDeliveryOut = z
  .object({ deliveryId: z.string(), eventId: z.string(), status: z.enum(DELIVERY_STATUSES) })
  .meta({ id: "WebhookTestDelivery" });

export const TokenRequestBody = z
  // OAuth requires unknown parameters to be ignored (RFC 6749 §3.2), so unlike every other body this one is not strict.
  .object({
    grant_type: z.string().max(200).optional(),
    client_id: z.string().max(200).optional(),
    client_secret: z.string().max(500).optional(),
    scope: z.string().max(1000).optional(),
  })
  .meta({ id: "TokenRequest" });

export const TokenOut = z
  .object({
    access_token: z.string().meta({ example: "eyJhbGciOiJSUzI1NiIs..." }),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().meta({ example: 3600 }),
  })
  .meta({ id: "TokenResponse" });

export const JwksOut = z
  .object({ keys: z.array(z.object({ kty: z.string(), kid: z.string(), alg: z.string(), use: z.string(), n: z.string(), e: z.string() })) })
  .meta({ id: "JsonWebKeySet" });

// ---------- Mappers ----------

const parseSchema = (json: string) => JSON.parse(json) as Record<string, unknown>;

export function toAuthProfileOut(p: AuthProfileDoc): z.input<typeof AuthProfileOut> {
  const updatedAt = iso(p.updatedAt);
  switch (p.type) {
    case "oauth2":
      return {
        type: "oauth2",
        tokenUrl: p.tokenUrl,
        clientId: p.clientId,
        clientSecret: p.clientSecret.hint,
        scope: p.scope,
        tokenEndpointAuthMethod: p.tokenEndpointAuthMethod,
        updatedAt,
      };
    case "api_key":
      return { type: "api_key", headerName: p.headerName, value: p.value.hint, updatedAt };
    case "custom":
      return { type: "custom", headers: p.headers, secrets: Object.fromEntries(Object.entries(p.secrets).map(([k, v]) => [k, v.hint])), updatedAt };
  }
}

export const toCapabilityTemplateOut = (t: CapabilityTemplateDoc): z.input<typeof CapabilityTemplateOut> => ({
  capabilities: t.capabilities.map((c) => ({
    name: c.name,
    description: c.description,
    inputSchema: c.inputSchema === null ? null : parseSchema(c.inputSchema),
    outputSchema: parseSchema(c.outputSchema),
    refreshIntervalSeconds: c.refreshIntervalSeconds,
    actions: c.actions.map((a) => ({
      name: a.name,
      description: a.description,
      inputSchema: parseSchema(a.inputSchema),
      outputSchema: a.outputSchema === null ? null : parseSchema(a.outputSchema),
    })),
    surfaceGuidance: c.surfaceGuidance,
  })),
  updatedAt: iso(t.updatedAt),
});

export const toWebhookProfileOut = (w: WebhookProfileDoc): z.input<typeof WebhookProfileOut> => ({
  url: w.url,
  events: w.events,
  retryPolicy: w.retryPolicy,
  status: w.status,
  disabledAt: isoOrNull(w.disabledAt),
  disabledReason: w.disabledReason,
  updatedAt: iso(w.updatedAt),
});

export const toRuntimeAppOut = (r: RuntimeApp): z.input<typeof RuntimeAppOut> => ({
  id: r.id,
  appId: r.appId,
  displayName: r.displayName,
  endpointUrl: r.endpointUrl,
  status: r.status,
  authProfile: r.authProfile ? toAuthProfileOut(r.authProfile) : null,
  capabilityTemplate: r.capabilityTemplate ? toCapabilityTemplateOut(r.capabilityTemplate) : null,
  webhookProfile: r.webhookProfile ? toWebhookProfileOut(r.webhookProfile) : null,
  credentialSecret: {
    configured: r.signingSecrets.length > 0,
    createdAt: isoOrNull(r.signingSecrets[0]?.createdAt),
    previousSecretExpiresAt: isoOrNull(r.signingSecrets[1]?.expiresAt),
  },
  lastInvokedAt: isoOrNull(r.lastInvokedAt),
  createdAt: iso(r.createdAt),
  updatedAt: iso(r.updatedAt),
});

export const toWebhookDeliveryOut = (d: WebhookDelivery): z.input<typeof WebhookDeliveryOut> => ({
  id: d.id,
  eventId: d.eventId,
  type: d.type,
  url: d.url,
  status: d.status,
  attemptCount: d.attempts.length,
  maxAttempts: d.retryPolicy.maxAttempts,
  nextAttemptAt: isoOrNull(d.nextAttemptAt),
  attempts: d.attempts.map((a) => ({ ...a, startedAt: iso(a.startedAt) })),
  createdAt: iso(d.createdAt),
  completedAt: isoOrNull(d.completedAt),
});
