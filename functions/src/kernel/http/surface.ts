import express, { type NextFunction, type Request, type Response } from "express";
import { z } from "zod";
import type { Principal } from "../auth/principal";
import { randomBase62 } from "../crypto";
import { ApiError, oauthErrorOf } from "../errors";
import { formatOps, type FirestoreOps, installFirestoreMeter, meterEnabled, withFirestoreMeter } from "../firestoreMeter";
import { log } from "../logger";
import { parseOrThrow, validationError } from "../validation";
import { paginationMeta } from "./envelope";
import { type AnyRoute, type ErrorFormat, type HttpMethod, isReply, STREAMED } from "./route";

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
 * Runs after authentication and before input validation, for every route of every surface.
 * The rate limiter plugs in here; it may set headers or throw ApiError (RATE_LIMITED).
 */
export type RequestHook = (req: Request, res: Response, route: AnyRoute, principal: Principal) => Promise<void>;

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
  const problem = req.bodyReadError;
  if (problem) {
    if (problem.type === "entity.parse.failed") throw new ApiError("INVALID_JSON", `Request body is not valid JSON: ${problem.message}`);
    if (problem.type === "entity.too.large") throw new ApiError("PAYLOAD_TOO_LARGE", "Request body is too large");
    throw new ApiError("UNSUPPORTED_MEDIA_TYPE", `Request body could not be read: ${problem.message}`);
  }
  return req.body;
}

async function runRoute(route: AnyRoute, req: Request, res: Response, routeHooks: RequestHook[]) {
  let principal: Principal;
  try {
    principal = await route.auth.authenticate(req, res);
  } catch (error) {
    // Failed authentication still counts, against the client IP, so bad credentials cannot be
    // tried without limit; a hook's own error (429) then wins over the 401.
    if (error instanceof ApiError && error.status === 401) for (const hook of routeHooks) await hook(req, res, route, { kind: "anonymous" });
    throw error;
  }
  for (const hook of routeHooks) await hook(req, res, route, principal);

  // A malformed id cannot name any resource: answer as for an unknown one.
  let params: unknown = {};
  if (route.params) {
    const parsed = (route.params as z.ZodType).safeParse(req.params);
    if (!parsed.success) throw new ApiError("NOT_FOUND", `Nothing found at ${req.path}`);
    params = parsed.data;
  }
  const query = route.query ? parseOrThrow(route.query, req.query, "query") : {};
  if (route.headers) parseOrThrow(route.headers, req.headers, "header");
  let body: unknown = undefined;
  if (route.body) {
    const raw = readBody(req, route);
    const parsed = (route.body as z.ZodType).safeParse(raw ?? {});
    if (!parsed.success) {
      if (raw === undefined && !route.bodyOptional) throw new ApiError("VALIDATION_ERROR", "body: Required (send a JSON object)");
      throw validationError(parsed.error, "body");
    }
    body = parsed.data;
  }

  const result = await route.handler({ principal, params, query, body, req, res, requestId: req.requestId });
  if (result === STREAMED) return;
  const where = `${route.method.toUpperCase()} ${route.path}`;
  const strict = (schema: z.ZodType, value: unknown) => {
    const out = schema.safeParse(value);
    if (!out.success) {
      log.invalidResponse(req.requestId, where, out.error.issues);
      throw new ApiError("INTERNAL", `An unexpected error occurred. Quote ${req.requestId} when contacting support.`);
    }
    return out.data;
  };

  if (route.kind === "list") {
    const page = result as { items: unknown[]; total: number; limit: number; offset: number };
    const data = strict(z.array(route.response as z.ZodType), page.items);
    res.status(route.status ?? 200).json({ data, meta: { requestId: req.requestId, pagination: paginationMeta(page) } });
    return;
  }
  const { status, data, headers } = isReply(result) ? result : { status: undefined, data: result, headers: undefined };
  for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
  const payload = strict(route.response as z.ZodType, data);
  if (route.kind === "single" && route.location) res.setHeader("Location", route.location(payload));
  const code = status ?? route.status ?? 200;
  if (route.kind === "raw") res.status(code).json(payload);
  else res.status(code).json({ data: payload, meta: { requestId: req.requestId } });
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
  app.set("trust proxy", true);

  app.use((req, res, next) => {
    req.requestId = newRequestId();
    res.setHeader("X-Request-Id", req.requestId);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("Access-Control-Expose-Headers", EXPOSED_HEADERS.join(", "));
    next();
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

  for (const route of surface.routes) {
    app[route.method](route.path, (req: Request, res: Response) => {
      runRoute(route, req, res, routeHooks()).catch((error: unknown) =>
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
      sendError(res, req.requestId, error, formatByPath.get(path));
    });
  }

  app.use((req, res) => {
    sendError(res, req.requestId, new ApiError("NOT_FOUND", `No route for ${req.method} ${req.path}`));
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
