import type { IncomingMessage, RequestListener, Server, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { NextFunction, Request, Response } from "express";
import { log } from "../logger";
import { newRequestId } from "./surface";

interface BodyReadError {
  type: string;
  message: string;
}

declare module "express-serve-static-core" {
  interface Request {
    /** Set when the platform could not parse the body; see installFrameworkBodyGuard. */
    bodyReadError?: BodyReadError;
    rawBody?: Buffer;
  }
}

type Middleware = (req: Request, res: Response, next: NextFunction) => void;
type JsonFactory = (options?: unknown) => Middleware;

let installed = false;

/**
 * Cloud Functions (and its emulator) parse JSON bodies before our code runs and answer a parse
 * failure with their own HTML 400 (GoogleCloudPlatform/functions-framework-nodejs#686), which
 * would break the error envelope. Both create their body parsers only after loading our module,
 * so we wrap the framework's `body-parser` json() here: a parse failure then reaches our router as
 * `req.bodyReadError` and is answered as INVALID_JSON. If the framework's layout ever changes we
 * log a warning and the platform's own 400 applies; the e2e tests catch that on the emulator.
 */
export function installFrameworkBodyGuard(): void {
  // Only inside a function runtime (deployed or emulated), never in scripts or test processes.
  if (installed || !(process.env.FUNCTION_TARGET || process.env.K_SERVICE)) return;
  installed = true;
  const entry = require.main?.filename;
  if (!entry) return log.frameworkBodyGuard(false, "no main module");
  let bodyParser: { json?: JsonFactory };
  try {
    bodyParser = createRequire(entry)("body-parser");
  } catch (error) {
    return log.frameworkBodyGuard(false, `body-parser not resolvable from ${entry}: ${String(error)}`);
  }
  const original = bodyParser.json;
  if (typeof original !== "function") return log.frameworkBodyGuard(false, "body-parser has no json()");
  const guarded: JsonFactory = (options) => {
    const parse = original(options);
    return (req, res, next) =>
      parse(req, res, (error?: unknown) => {
        const { type, status } = (error ?? {}) as { type?: unknown; status?: unknown };
        // body-parser types its own errors; a body it cannot inflate (a false Content-Encoding) is an untyped 400.
        const clientError = typeof status === "number" && status >= 400 && status < 500;
        if (error && (typeof type === "string" || clientError)) {
          req.bodyReadError = { type: typeof type === "string" ? type : "entity.unreadable", message: (error as Error).message };
          req.body = undefined;
          return next();
        }
        next(error);
      });
  };
  Object.defineProperty(bodyParser, "json", { value: guarded, configurable: true, enumerable: true, writable: true });
  log.frameworkBodyGuard(true);
}

let pathGuardInstalled = false;

/** A path `decodeURIComponent` rejects (`/apps/%zz`, `/%ff`): no router can match it. */
function undecodablePath(url: string | undefined): boolean {
  try {
    decodeURIComponent((url ?? "/").split("?")[0]!);
    return false;
  } catch {
    return true;
  }
}

function answerUndecodable(res: ServerResponse) {
  const requestId = newRequestId();
  const body = JSON.stringify({ error: { code: "VALIDATION_ERROR", message: "The request path is not valid percent-encoding", requestId } });
  res.writeHead(400, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    "X-Request-Id": requestId,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "X-Request-Id",
  });
  res.end(body);
}

/**
 * The Functions Framework's Express decodes the path before our function runs and answers a
 * malformed percent-encoding with its own HTML 400 (the functions emulator with a 500), outside the
 * envelope. The framework builds its server with `http.createServer` after loading our module, so
 * we wrap the listener there: such a request is answered in the envelope, as our routers answer it.
 */
export function installFrameworkPathGuard(): void {
  if (pathGuardInstalled || !(process.env.FUNCTION_TARGET || process.env.K_SERVICE)) return;
  pathGuardInstalled = true;
  const http = createRequire(__filename)("node:http") as { createServer: (...args: unknown[]) => Server };
  const original = http.createServer;
  const guarded = (...args: unknown[]) => {
    const at = args.findIndex((a) => typeof a === "function");
    if (at >= 0) {
      const listener = args[at] as RequestListener;
      args[at] = (req: IncomingMessage, res: ServerResponse) => (undecodablePath(req.url) ? answerUndecodable(res) : listener(req, res));
    }
    return original.apply(http, args);
  };
  Object.defineProperty(http, "createServer", { value: guarded, configurable: true, enumerable: true, writable: true });
}
