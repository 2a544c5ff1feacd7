import { createRequire } from "node:module";
import type { NextFunction, Request, Response } from "express";
import { log } from "../logger";

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
        const type = (error as { type?: unknown } | undefined)?.type;
        if (error && typeof type === "string") {
          req.bodyReadError = { type, message: (error as Error).message };
          req.body = undefined;
          return next();
        }
        next(error);
      });
  };
  Object.defineProperty(bodyParser, "json", { value: guarded, configurable: true, enumerable: true, writable: true });
  log.frameworkBodyGuard(true);
}
