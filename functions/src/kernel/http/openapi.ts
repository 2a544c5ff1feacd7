import { z } from "zod";
import {
  createDocument,
  type ZodOpenApiHeaderObject,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
} from "zod-openapi";
import { ERROR_CATALOGUE, type ErrorCode, type OAuthErrorCode } from "../errors";
import { ErrorBody, list, single } from "./envelope";
import { type AnyRoute, openApiPath } from "./route";
import type { Surface } from "./surface";
import { IdempotencyKeyHeader, ifMatchHeader } from "./writeGuards";

/** Error responses every route can give, on top of those a route lists itself. */
const COMMON_ERRORS: ErrorCode[] = ["INTERNAL", "RATE_LIMITED"];

const OAUTH_ERRORS: [OAuthErrorCode, ...OAuthErrorCode[]] = [
  "invalid_request",
  "invalid_client",
  "invalid_grant",
  "unauthorized_client",
  "unsupported_grant_type",
  "invalid_scope",
  "server_error",
  "temporarily_unavailable",
];

/** The OAuth error codes an OAuth-format route answers, by status (kernel/errors.ts `oauthErrorOf`). */
const OAUTH_BY_STATUS: Record<number, OAuthErrorCode[]> = {
  400: ["invalid_request", "unauthorized_client", "unsupported_grant_type", "invalid_scope"],
  401: ["invalid_client"],
  429: ["temporarily_unavailable"],
  500: ["server_error"],
  503: ["temporarily_unavailable"],
};

/** What the token endpoint answers on failure: RFC 6749 §5.2, which OAuth client libraries read. */
const OAuthErrorBody = z
  .object({
    error: z.enum(OAUTH_ERRORS).meta({ description: "RFC 6749 §5.2 error code." }),
    error_description: z.string(),
  })
  .meta({ id: "OAuthError" });

/** Response headers, documented once (components.headers) and referenced by every response. */
const header = (description: string, type: "string" | "integer" = "string"): ZodOpenApiHeaderObject => ({ description, schema: { type } });
const HEADERS = {
  "X-Request-Id": header("Identifies the request; quote it to support. The same id is in `meta.requestId` or `error.requestId`."),
  "X-RateLimit-Limit": header("Requests allowed per minute for this caller (docs/rate-limits.md).", "integer"),
  "X-RateLimit-Remaining": header("Requests left in the current one-minute window.", "integer"),
  "X-RateLimit-Reset": header("End of the current window, in Unix seconds.", "integer"),
  RateLimit: header('IETF RateLimit fields: `"<policy>";r=<remaining>;t=<seconds to reset>`.'),
  "RateLimit-Policy": header('IETF RateLimit-Policy: `"<policy>";q=<limit>;w=60`.'),
  "Retry-After": header("Seconds to wait before retrying.", "integer"),
  "WWW-Authenticate": header("The authentication scheme to use, and what was wrong with the credentials."),
  Location: header("Where the created (or accepted) resource can be read."),
  "Idempotent-Replayed": header("`true` when this is the stored answer of an earlier request with the same `Idempotency-Key`."),
  ETag: header("A strong validator of the resource's current representation; send it as `If-Match` to change the resource only if nobody else did."),
} as const;
type HeaderName = keyof typeof HEADERS;
const RATE_LIMIT_HEADERS: HeaderName[] = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit", "RateLimit-Policy"];
const ref = (names: HeaderName[]) => Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }]));

function errorResponse(route: AnyRoute, status: number, codes: ErrorCode[]): ZodOpenApiResponseObject {
  const headers: HeaderName[] = ["X-Request-Id", ...RATE_LIMIT_HEADERS];
  if (status === 409 || status === 429 || status === 503) headers.push("Retry-After");
  if (status === 401) headers.push("WWW-Authenticate");
  const oauth = route.errorFormat === "oauth";
  const description = oauth
    ? `An OAuth error (RFC 6749 §5.2): ${(OAUTH_BY_STATUS[status] ?? ["invalid_request"]).map((e) => `\`${e}\``).join(", ")}.`
    : codes.map((c) => `\`${c}\`: ${ERROR_CATALOGUE[c].when}`).join("\n\n");
  return {
    description,
    headers: ref(headers),
    content: { "application/json": { schema: oauth ? OAuthErrorBody : ErrorBody } },
  };
}

/** A route that takes `Idempotency-Key` answers a replay with `Idempotent-Replayed`. */
const idempotent = (route: AnyRoute) => route.idempotency !== undefined || (route.headers !== undefined && "idempotency-key" in route.headers.shape);

/** The request headers the kernel reads for a route (its write guards), besides the route's own. */
function guardHeaders(route: AnyRoute): z.ZodObject | undefined {
  const shape: Record<string, z.ZodType> = { ...(route.headers?.shape ?? {}) };
  if (route.idempotency)
    shape["idempotency-key"] = IdempotencyKeyHeader.optional().meta({
      description:
        "Makes retrying this create safe: the first answer is replayed for 24 hours (`Idempotent-Replayed: true`); the same key with another request answers 422 IDEMPOTENCY_KEY_REUSED (docs/errors.md#idempotent-requests).",
    });
  if (route.ifMatch) shape["if-match"] = ifMatchHeader.optional();
  return Object.keys(shape).length ? z.object(shape) : undefined;
}

function operation(route: AnyRoute, etagPaths: Set<string>): ZodOpenApiOperationObject {
  const errors = new Set<ErrorCode>([...COMMON_ERRORS, ...(route.errors ?? [])]);
  if (route.lock) errors.add("CONFLICT");
  if (route.ifMatch) errors.add("PRECONDITION_FAILED");
  if (route.idempotency) (["IDEMPOTENCY_KEY_REUSED", "IDEMPOTENCY_KEY_IN_USE", "VALIDATION_ERROR"] as const).forEach((c) => errors.add(c));
  if (route.auth.scheme) errors.add("UNAUTHENTICATED");
  if (route.body) (["VALIDATION_ERROR", "INVALID_JSON", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE"] as const).forEach((c) => errors.add(c));
  if (route.query || route.headers) errors.add("VALIDATION_ERROR");
  if (route.params) errors.add("NOT_FOUND");

  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errors) {
    const status = ERROR_CATALOGUE[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }

  const schema = route.kind === "list" ? list(route.response) : route.kind === "raw" ? route.response : single(route.response);
  const contentType = route.kind === "raw" ? (route.contentType ?? "application/json") : "application/json";
  const successHeaders: HeaderName[] = ["X-Request-Id", ...RATE_LIMIT_HEADERS];
  if (route.kind === "single" && route.location) successHeaders.push("Location");
  if (idempotent(route)) successHeaders.push("Idempotent-Replayed");
  if (route.ifMatch || (route.method === "get" && etagPaths.has(route.path))) successHeaders.push("ETag");
  const responses: Record<string, ZodOpenApiResponseObject> = {
    [String(route.status ?? 200)]: { description: route.summary, headers: ref(successHeaders), content: { [contentType]: { schema } } },
  };
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) responses[String(status)] = errorResponse(route, status, codes);

  const op: ZodOpenApiOperationObject = {
    operationId: route.operationId,
    summary: route.summary,
    tags: route.tags,
    security: route.auth.scheme ? [{ [route.auth.scheme]: [] }] : [],
    responses: responses as ZodOpenApiOperationObject["responses"],
  };
  if (route.description) op.description = route.description;
  const headers = guardHeaders(route);
  if (route.params || route.query || headers) {
    op.requestParams = {};
    if (route.params) op.requestParams.path = route.params as z.ZodObject;
    if (route.query) op.requestParams.query = route.query as z.ZodObject;
    if (headers) op.requestParams.header = headers;
  }
  if (route.body) {
    const content: Record<string, { schema: z.ZodType }> = {};
    for (const type of route.bodyTypes ?? ["json"]) {
      content[type === "json" ? "application/json" : "application/x-www-form-urlencoded"] = { schema: route.body };
    }
    op.requestBody = { required: !route.bodyOptional, content };
  }
  return op;
}

/** What the document says besides the routes: tags, and the webhook events the API sends. */
export interface OpenApiExtras {
  tags: { name: string; description: string }[];
  /** Event type → the JSON body of its webhook delivery. */
  webhooks: Record<string, { summary: string; body: z.ZodType }>;
}

export function buildOpenApiDocument(surfaces: Surface[], serverUrl: string, extras: OpenApiExtras) {
  const paths: ZodOpenApiPathsObject = {};
  const etagPaths = new Set(surfaces.flatMap((s) => s.routes.flatMap((r) => (r.ifMatch ? [r.ifMatch] : []))));
  for (const surface of surfaces) {
    for (const route of surface.routes) {
      const path = openApiPath(route.path);
      paths[path] = { ...(paths[path] ?? {}), [route.method]: operation(route, etagPaths) };
    }
  }
  const webhooks: ZodOpenApiPathsObject = {};
  for (const [type, hook] of Object.entries(extras.webhooks)) {
    webhooks[type] = {
      post: {
        operationId: `on${type.replace(/(^|\.)(\w)/g, (_m, _dot: string, c: string) => c.toUpperCase())}`,
        summary: hook.summary,
        description: "Signed with Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`): docs/webhooks.md.",
        tags: ["Webhooks"],
        requestBody: { required: true, content: { "application/json": { schema: hook.body } } },
        responses: { "2XX": { description: "Received. Any other answer is retried with backoff; 410 disables the endpoint." } },
      },
    };
  }
  return createDocument(
    {
      openapi: "3.1.0",
      info: {
        title: "Aiffinity Platform API",
        version: "1.0.0",
        description:
          "Provider platform API: developer console, packages, provider runtime, capabilities and the catalog. " +
          "Every response uses the `{data, meta}` envelope; errors are `{error: {code, message, requestId}}` (docs/errors.md). " +
          "Responses may gain fields in any release: clients should ignore the ones they do not know.",
        contact: { name: "Aiffinity developer support", url: "https://aiffinity.me/developers" },
        license: { name: "Aiffinity API Terms", url: "https://aiffinity.me/legal/api-terms" },
      },
      servers: [{ url: serverUrl }],
      tags: extras.tags,
      paths,
      webhooks,
      components: {
        headers: HEADERS,
        securitySchemes: {
          firebaseIdToken: { type: "http", scheme: "bearer", bearerFormat: "Firebase ID token" },
          oauth2ClientCredentials: {
            type: "oauth2",
            flows: { clientCredentials: { tokenUrl: "/v1/providers/auth/token", scopes: {} } },
          },
        },
      },
    },
    {
      // Requests are strict (unknown fields are errors); responses stay open to fields added later.
      override: ({ jsonSchema, io }) => {
        if (io === "output" && jsonSchema.additionalProperties === false) delete jsonSchema.additionalProperties;
      },
    },
  );
}
