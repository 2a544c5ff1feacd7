import { type z } from "zod";
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject, type ZodOpenApiResponseObject } from "zod-openapi";
import { ERROR_CATALOGUE, type ErrorCode } from "../errors";
import { ErrorBody, list, single } from "./envelope";
import { type AnyRoute, openApiPath } from "./route";
import type { Surface } from "./surface";

/** Error responses every route can give, on top of those a route lists itself. */
const COMMON_ERRORS: ErrorCode[] = ["INTERNAL", "RATE_LIMITED"];

const errorResponse = (codes: ErrorCode[]) => ({
  description: codes.map((c) => `\`${c}\`: ${ERROR_CATALOGUE[c].when}`).join("\n\n"),
  content: { "application/json": { schema: ErrorBody } },
});

function operation(route: AnyRoute): ZodOpenApiOperationObject {
  const errors = new Set<ErrorCode>([...COMMON_ERRORS, ...(route.errors ?? [])]);
  if (route.auth.scheme) errors.add("UNAUTHENTICATED");
  if (route.body) ["VALIDATION_ERROR", "INVALID_JSON", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE"].forEach((c) => errors.add(c as ErrorCode));
  if (route.query || route.headers) errors.add("VALIDATION_ERROR");
  if (route.params) errors.add("NOT_FOUND");

  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errors) {
    const status = ERROR_CATALOGUE[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }

  const schema = route.kind === "list" ? list(route.response) : route.kind === "raw" ? route.response : single(route.response);
  const contentType = route.kind === "raw" ? (route.contentType ?? "application/json") : "application/json";
  const responses: Record<string, ZodOpenApiResponseObject> = {
    [String(route.status ?? 200)]: { description: route.summary, content: { [contentType]: { schema } } },
  };
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) responses[String(status)] = errorResponse(codes);

  const op: ZodOpenApiOperationObject = {
    operationId: `${route.method}${openApiPath(route.path).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
    summary: route.summary,
    tags: route.tags,
    security: route.auth.scheme ? [{ [route.auth.scheme]: [] }] : [],
    responses: responses as ZodOpenApiOperationObject["responses"],
  };
  if (route.description) op.description = route.description;
  if (route.params || route.query || route.headers) {
    op.requestParams = {};
    if (route.params) op.requestParams.path = route.params as z.ZodObject;
    if (route.query) op.requestParams.query = route.query as z.ZodObject;
    if (route.headers) op.requestParams.header = route.headers;
  }
  if (route.body) {
    const content: Record<string, { schema: z.ZodType }> = {};
    for (const type of route.bodyTypes ?? ["json"]) {
      content[type === "json" ? "application/json" : "application/x-www-form-urlencoded"] = { schema: route.body };
    }
    op.requestBody = { required: true, content };
  }
  return op;
}

export function buildOpenApiDocument(surfaces: Surface[], serverUrl: string) {
  const paths: ZodOpenApiPathsObject = {};
  for (const surface of surfaces) {
    for (const route of surface.routes) {
      const path = openApiPath(route.path);
      paths[path] = { ...(paths[path] ?? {}), [route.method]: operation(route) };
    }
  }
  return createDocument({
    openapi: "3.1.0",
    info: {
      title: "Aiffinity Platform API",
      version: "1.0.0",
      description:
        "Provider platform API: developer console, packages, provider runtime, capabilities and the catalog. " +
        "Every response uses the `{data, meta}` envelope; errors are `{error: {code, message, requestId}}` (see docs/errors.md).",
    },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      securitySchemes: {
        firebaseIdToken: { type: "http", scheme: "bearer", bearerFormat: "Firebase ID token" },
        oauth2ClientCredentials: {
          type: "oauth2",
          flows: { clientCredentials: { tokenUrl: "/v1/providers/auth/token", scopes: {} } },
        },
      },
    },
  });
}
