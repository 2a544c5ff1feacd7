import { isUtf8 } from "node:buffer";
import express, { type NextFunction, type Request, type Response } from "express";
import { z } from "zod";
import type { Principal } from "../auth/principal";
import { randomBase62 } from "../crypto";
import { ApiError, oauthErrorOf } from "../errors";
import { contended, type ReadBatch } from "../firestore";
import { formatOps, type FirestoreOps, installFirestoreMeter, meterEnabled, withFirestoreMeter } from "../firestoreMeter";
import { log } from "../logger";
import { withResourceLock } from "../resourceLock";
import { assertCleanInput, parseOrThrow, validationError } from "../validation";
import { paginationMeta } from "./envelope";
import { type AnyRoute, type ErrorFormat, type HttpMethod, isReply, STREAMED } from "./route";
import {
  etagOf,
  IdempotencyKeyHeader,
  ifMatchSatisfied,
  type Outcome,
  preconditionFailed,
  principalScope,
  type Produced,
  runIdempotent,
} from "./writeGuards";

declare module "express-serve-static-core" {
  interface Request {
    requestId: string;
  }
}

/** One API surface: a Cloud Function wrapping its own router. */
export interface Surface {
  name: string;
  routes: AnyRoute[];
}

/**
 * Runs after authentication and before input validation, for every route of every surface, and
 * (with no route, as anonymous) for unknown paths, wrong methods and CORS preflights, so every
 * response carries the rate-limit headers. The rate limiter plugs in here; it may set headers or
 * throw ApiError (RATE_LIMITED).
 */
export type RequestHook = (req: Request, res: Response, route: AnyRoute | null, principal: Principal) => Promise<void>;

const hooks: RequestHook[] = [];
export const addRequestHook = (hook: RequestHook) => {
  hooks.push(hook);
};

const DEFAULT_MAX_BODY = 1024 * 1024;
const EXPOSED_HEADERS = [
  "X-Request-Id",
  "X-RateLimit-Limit",
  "X-RateLimit-Remaining",
  "X-RateLimit-Reset",
  "RateLimit",
  "RateLimit-Policy",
  "Retry-After",
  "WWW-Authenticate",
  "Idempotent-Replayed",
  "Location",
  "ETag",
];

export const newRequestId = () => `req_${randomBase62(20)}`;

function sendError(res: Response, requestId: string, error: ApiError, format: ErrorFormat = "envelope") {
  if (res.headersSent) return void res.end();
  for (const [name, value] of Object.entries(error.options.headers ?? {})) res.setHeader(name, value);
  if (format === "oauth") {
    res.status(error.status).json({ error: oauthErrorOf(error), error_description: error.message });
    return;
  }
  const body: Record<string, unknown> = { code: error.code, message: error.message, requestId };
  if (error.options.details?.length) body.details = error.options.details;
  res.status(error.status).json({ error: body });
}

/** Anything that is not an ApiError is our bug: log it in full, tell the client only the request id. */
function toApiError(error: unknown, requestId: string, where: string): ApiError {
  if (error instanceof ApiError) return error;
  if (contended(error)) {
    log.transactionContention(requestId, where, error);
    return new ApiError("CONFLICT", "Another change to the same resource won the race; retry in a moment", { headers: { "Retry-After": "1" } });
  }
  log.unexpectedError(requestId, where, error);
  return new ApiError("INTERNAL", `An unexpected error occurred. Quote ${requestId} when contacting support.`);
}

function mediaType(req: Request): string {
  return (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
}

function bodyLength(req: Request): number {
  if (req.rawBody) return req.rawBody.length;
  return Number(req.headers["content-length"] ?? 0) || 0;
}

/**
 * The query string as names to values (a repeated name gives an array), parsed here rather than
 * read from `req.query`: that is a getter under Express 5 whose result depends on the framework
 * serving the function (the Functions Framework 4+ runs Express 5 with the simple parser, the
 * emulator's Express 4 parses `a[b]=1` into objects), so the same URL validates the same everywhere.
 */
export function queryOf(req: Request): Record<string, string | string[]> {
  const url = req.originalUrl || req.url;
  const at = url.indexOf("?");
  const values = new Map<string, string | string[]>();
  if (at < 0) return {};
  for (const [name, value] of new URLSearchParams(url.slice(at + 1))) {
    const previous = values.get(name);
    values.set(name, previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value]);
  }
  // Defined as own properties (never through a `__proto__` setter).
  return Object.fromEntries(values);
}

/** Size, media type and parse checks, before the body reaches its schema. */
function readBody(req: Request, route: AnyRoute): unknown {
  const max = route.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const size = bodyLength(req);
  if (size > max) throw new ApiError("PAYLOAD_TOO_LARGE", `Request body is ${size} bytes; this endpoint accepts at most ${max} bytes`);
  if (size === 0) return undefined;
  const allowed: string[] = (route.bodyTypes ?? ["json"]).map((t) => (t === "json" ? "application/json" : "application/x-www-form-urlencoded"));
  const type = mediaType(req);
  if (!allowed.includes(type)) {
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", `Content-Type must be ${allowed.join(" or ")}${type ? `, not ${type}` : ""}`);
  }
  // JSON is UTF-8 (RFC 8259), and so must a form be: a decoder would silently turn bad bytes into U+FFFD.
  if (req.rawBody && !isUtf8(req.rawBody)) {
    if (type === "application/json") throw new ApiError("INVALID_JSON", "Request body is not valid JSON: it is not valid UTF-8");
    throw new ApiError("VALIDATION_ERROR", "body: Request body is not valid UTF-8", {
      details: [{ field: "body", message: "Not valid UTF-8", code: "invalid_encoding" }],
    });
  }
  const problem = req.bodyReadError;
  if (problem) {
    if (problem.type === "entity.parse.failed") throw new ApiError("INVALID_JSON", `Request body is not valid JSON: ${problem.message}`);
    if (problem.type === "entity.too.large") throw new ApiError("PAYLOAD_TOO_LARGE", "Request body is too large");
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", `Request body could not be read: ${problem.message}`);
  }
  return req.body;
}

const ANONYMOUS: Principal = { kind: "anonymous" };

async function runHooks(routeHooks: RequestHook[], req: Request, res: Response, route: AnyRoute | null, principal: Principal = ANONYMOUS) {
  for (const hook of routeHooks) await hook(req, res, route, principal);
}

/** CORS preflight (any origin: the API authenticates with bearer tokens, never cookies), counted like any request. */
async function preflight(req: Request, res: Response, routeHooks: RequestHook[]) {
  await runHooks(routeHooks, req, res, null);
  res.setHeader("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE");
  const requested = req.headers["access-control-request-headers"];
  if (requested) res.setHeader("Access-Control-Allow-Headers", requested);
  res.setHeader("Access-Control-Max-Age", "600");
  res.setHeader("Vary", "Access-Control-Request-Headers");
  res.status(204).setHeader("Content-Length", "0");
  res.end();
}

/** The surface's GET routes by path: the representations ETags are computed from. */
type Representations = Map<string, AnyRoute>;

/** The current representation of the resource a write targets: its GET route run for the same caller and path. */
async function representation(get: AnyRoute, principal: Principal, req: Request, res: Response): Promise<unknown> {
  const params = get.params ? (get.params as z.ZodType).parse(req.params) : {};
  const query = get.query ? (get.query as z.ZodType).parse({}) : {};
  const result = await get.handler({ principal, params, query, body: undefined, req, res, requestId: req.requestId });
  const data = isReply(result) ? result.data : result;
  return (get.response as z.ZodType).parse(data);
}

async function runRoute(route: AnyRoute, req: Request, res: Response, routeHooks: RequestHook[], gets: Representations) {
  let principal: Principal;
  // The route's reads start once the credentials are genuine, alongside the authenticator's own.
  let prefetched = false;
  const verified = (reads: ReadBatch) => {
    if (prefetched || !route.prefetch) return;
    prefetched = true;
    route.prefetch(req, reads);
  };
  try {
    principal = await route.auth.authenticate(req, res, verified);
  } catch (error) {
    // Failed authentication (401, or 403 for a user the route refuses) still counts, against the
    // client IP, so bad credentials cannot be tried without limit; a hook's own error (429) wins.
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) await runHooks(routeHooks, req, res, route);
    throw error;
  }
  await runHooks(routeHooks, req, res, route, principal);

  // Text no route may store or echo (lone surrogates, NUL) and deep nesting stop here, for every route.
  assertCleanInput(req.params, "path");
  // A malformed id cannot name any resource: answer as for an unknown one.
  let params: unknown = {};
  if (route.params) {
    const parsed = (route.params as z.ZodType).safeParse(req.params);
    if (!parsed.success) throw new ApiError("NOT_FOUND", `Nothing found at ${req.path}`);
    params = parsed.data;
  }
  const rawQuery = queryOf(req);
  assertCleanInput(rawQuery, "query");
  const query = route.query ? parseOrThrow(route.query, rawQuery, "query") : {};
  if (route.headers) {
    assertCleanInput(Object.fromEntries(Object.keys(route.headers.shape).map((name) => [name, req.headers[name]])), "header");
    parseOrThrow(route.headers, req.headers, "header");
  }
  let body: unknown = undefined;
  if (route.body) {
    const raw = readBody(req, route);
    if (raw !== undefined) assertCleanInput(raw, "body");
    const parsed = (route.body as z.ZodType).safeParse(raw ?? {});
    if (!parsed.success) {
      if (raw === undefined && !route.bodyOptional) throw new ApiError("VALIDATION_ERROR", "body: Required (send a JSON object)");
      throw validationError(parsed.error, "body");
    }
    body = parsed.data;
  }

  const where = `${route.method.toUpperCase()} ${route.path}`;
  const strict = (schema: z.ZodType, value: unknown) => {
    const out = schema.safeParse(value);
    if (!out.success) {
      log.invalidResponse(req.requestId, where, out.error.issues);
      throw new ApiError("INTERNAL", `An unexpected error occurred. Quote ${req.requestId} when contacting support.`);
    }
    return out.data;
  };
  const input = { principal, params, query, body, req, res, requestId: req.requestId };

  if (route.kind === "list") {
    const page = (await route.handler(input)) as { items: unknown[]; total: number; limit: number; offset: number };
    const data = strict(z.array(route.response as z.ZodType), page.items);
    res.status(route.status ?? 200).json({ data, meta: { requestId: req.requestId, pagination: paginationMeta(page) } });
    return;
  }

  const produce = async (): Promise<Produced | typeof STREAMED> => {
    const result = await route.handler(input);
    if (result === STREAMED) return STREAMED;
    const { status, data, headers } = isReply(result) ? result : { status: undefined, data: result, headers: undefined };
    const payload = strict(route.response as z.ZodType, data);
    const out: Produced = { status: status ?? route.status ?? 200, payload, headers: { ...(headers ?? {}) } };
    if (route.kind === "single" && route.location) out.headers.Location = route.location(payload);
    return out;
  };

  // Optimistic concurrency and the resource's lease (docs/errors.md#concurrent-writes).
  const target = route.ifMatch ? gets.get(route.ifMatch) : undefined;
  const guarded = async (): Promise<Produced | typeof STREAMED> => {
    const expected = req.get("if-match");
    if (target && expected !== undefined && !ifMatchSatisfied(expected, etagOf(await representation(target, principal, req, res))))
      throw preconditionFailed();
    const out = await produce();
    // The ETag of what a GET now answers (a write's own answer may be shaped differently).
    if (target && out !== STREAMED && out.status < 300) out.headers.ETag = etagOf(await representation(target, principal, req, res));
    return out;
  };
  const scope = principalScope(principal);
  const locked = () => (route.lock && scope ? withResourceLock(`${scope}/${route.lock(params)}`, guarded) : guarded());

  let outcome: Outcome | typeof STREAMED;
  let replayed = false;
  const key = route.idempotency && scope ? req.get("idempotency-key") : undefined;
  if (key !== undefined && scope) {
    parseOrThrow(z.object({ "idempotency-key": IdempotencyKeyHeader }), { "idempotency-key": key }, "header");
    const run = await runIdempotent({
      scope,
      key,
      operation: route.operationId,
      request: { params, body },
      sealed: route.idempotency === "sealed",
      execute: async () => {
        const out = await locked();
        if (out === STREAMED) throw new Error(`${where}: a streamed answer cannot be idempotent`);
        return out;
      },
    });
    outcome = run.outcome;
    replayed = run.replayed;
  } else {
    const out = await locked();
    outcome = out === STREAMED ? STREAMED : { kind: "data", produced: out };
  }
  if (outcome === STREAMED) return;
  if (replayed) res.setHeader("Idempotent-Replayed", "true");
  if (outcome.kind === "error") throw outcome.error;
  const { status, payload, headers } = outcome.produced;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (route.method === "get" && gets.get(route.path) === route) res.setHeader("ETag", etagOf(payload));
  if (route.kind === "raw") res.status(status).json(payload);
  else res.status(status).json({ data: payload, meta: { requestId: req.requestId } });
}

/**
 * FIRESTORE_METER=1 (benchmarks, load tests): counts the request's Firestore reads and writes and
 * answers them in `X-Firestore-Ops: reads=N; writes=M`, set as the headers go out (streams: at
 * their start).
 */
function meterRequest(_req: Request, res: Response, next: NextFunction) {
  installFirestoreMeter();
  const ops: FirestoreOps = { reads: 0, writes: 0 };
  const writeHead = res.writeHead;
  res.writeHead = function (this: Response, ...args: unknown[]) {
    if (!this.headersSent) this.setHeader("X-Firestore-Ops", formatOps(ops));
    return (writeHead as (...a: unknown[]) => Response).apply(this, args);
  } as typeof res.writeHead;
  withFirestoreMeter(ops, next);
}

export interface SurfaceOptions {
  /** The request hooks to run (default: every hook registered with addRequestHook). */
  hooks?: RequestHook[];
}

/** Builds the Express app of one surface: envelope, errors, 404/405, auth and validation. */
export function createSurfaceApp(surface: Surface, options: SurfaceOptions = {}): express.Express {
  const routeHooks = () => options.hooks ?? hooks;
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  // Never Express's own X-Forwarded-For handling: the client IP is clientIp() (trusted hops only).
  app.set("trust proxy", false);

  app.use((req, res, next) => {
    req.requestId = newRequestId();
    res.setHeader("X-Request-Id", req.requestId);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.setHeader("Access-Control-Expose-Headers", EXPOSED_HEADERS.join(", "));
    if (req.method !== "OPTIONS") return next();
    preflight(req, res, routeHooks()).catch((error: unknown) => sendError(res, req.requestId, toApiError(error, req.requestId, "OPTIONS")));
  });
  if (meterEnabled()) app.use(meterRequest);

  const methodsByPath = new Map<string, Set<HttpMethod>>();
  const formatByPath = new Map<string, ErrorFormat>();
  for (const route of surface.routes) {
    if (!methodsByPath.has(route.path)) methodsByPath.set(route.path, new Set());
    methodsByPath.get(route.path)!.add(route.method);
    // A path answers 405 in the OAuth format only when every route on it does.
    const format = route.errorFormat ?? "envelope";
    formatByPath.set(route.path, formatByPath.has(route.path) && formatByPath.get(route.path) !== format ? "envelope" : format);
  }

  // GET routes whose representation a write's If-Match refers to answer with an ETag.
  const gets: Representations = new Map();
  for (const route of surface.routes) {
    if (!route.ifMatch) continue;
    const get = surface.routes.find((r) => r.method === "get" && r.path === route.ifMatch);
    if (!get || !route.lock) throw new Error(`${route.operationId}: ifMatch needs a lock and a GET route at ${route.ifMatch}`);
    gets.set(route.ifMatch, get);
  }

  for (const route of surface.routes) {
    app[route.method](route.path, (req: Request, res: Response) => {
      runRoute(route, req, res, routeHooks(), gets).catch((error: unknown) =>
        sendError(res, req.requestId, toApiError(error, req.requestId, `${route.method.toUpperCase()} ${route.path}`), route.errorFormat),
      );
    });
  }

  for (const [path, methods] of methodsByPath) {
    const allow = [...methods].map((m) => m.toUpperCase());
    if (methods.has("get")) allow.push("HEAD");
    allow.push("OPTIONS"); // CORS preflight, answered by the function's cors option (see src/index.ts)
    app.all(path, function methodNotAllowed(req: Request, res: Response) {
      res.setHeader("Allow", allow.join(", "));
      const error = new ApiError("METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${req.path}; use ${allow.join(", ")}`);
      runHooks(routeHooks(), req, res, null).then(
        () => sendError(res, req.requestId, error, formatByPath.get(path)),
        (hookError: unknown) => sendError(res, req.requestId, toApiError(hookError, req.requestId, "405"), formatByPath.get(path)),
      );
    });
  }

  app.use((req, res) => {
    const error = new ApiError("NOT_FOUND", `No route for ${req.method} ${req.path}`);
    runHooks(routeHooks(), req, res, null).then(
      () => sendError(res, req.requestId, error),
      (hookError: unknown) => sendError(res, req.requestId, toApiError(hookError, req.requestId, "404")),
    );
  });

  // Errors Express raises itself (a malformed percent-encoding in the path, for example).
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: number }).status;
    const apiError =
      status === 400
        ? new ApiError("VALIDATION_ERROR", "The request could not be parsed")
        : toApiError(error, req.requestId ?? newRequestId(), "express");
    sendError(res, req.requestId ?? newRequestId(), apiError);
  });

  return app;
}
