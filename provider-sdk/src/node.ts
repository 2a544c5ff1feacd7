import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Runtime } from "./runtime";
import type { RuntimeResponse } from "./types";

/** Node's `http` module and Express, both feeding the framework-neutral `runtime.handle()`. */

/** The platform sends at most 1 MiB (descriptors cap inputs well below). */
export const MAX_BODY_BYTES = 1024 * 1024;

export class BodyTooLargeError extends Error {}

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLargeError(`Body larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export function send(res: ServerResponse, response: Pick<RuntimeResponse, "status" | "headers" | "body">) {
  res.writeHead(response.status, { ...response.headers, "content-length": Buffer.byteLength(response.body) });
  res.end(response.body);
}

/** A `(req, res)` listener for `http.createServer()` (or any framework that passes Node's objects untouched). */
export function nodeHandler(runtime: Runtime, options: { maxBodyBytes?: number } = {}) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    let body: string;
    try {
      body = await readBody(req, options.maxBodyBytes);
    } catch (error) {
      const tooLarge = error instanceof BodyTooLargeError;
      return send(res, { status: tooLarge ? 413 : 400, headers: { "content-type": "application/json" }, body: JSON.stringify({ error: { code: tooLarge ? "PAYLOAD_TOO_LARGE" : "BAD_REQUEST", message: String(error) } }) });
    }
    send(res, await runtime.handle({ method: req.method ?? "GET", path: req.url ?? "/", headers: req.headers, body }));
  };
}

/** The parts of an Express request the middleware reads (no runtime dependency on Express). */
interface ExpressLikeRequest extends IncomingMessage {
  body?: unknown;
  /** Set by Express's body parsers once they consumed the stream. */
  _body?: boolean;
}

/**
 * Express middleware: `app.use("/aiffinity", expressHandler(runtime))`. Mount it before
 * `express.json()` (signatures are checked over the raw bytes), or behind `express.raw({type: "*\/*"})`.
 */
export function expressHandler(runtime: Runtime, options: { maxBodyBytes?: number } = {}) {
  return async (req: ExpressLikeRequest, res: ServerResponse, next: (error?: unknown) => void) => {
    try {
      let body: string;
      if (Buffer.isBuffer(req.body)) body = req.body.toString("utf8");
      else if (typeof req.body === "string") body = req.body;
      else if (req._body) {
        throw new Error("The request body was already parsed (express.json()?): mount the Aiffinity runtime before body parsers, or use express.raw()");
      } else body = await readBody(req, options.maxBodyBytes);
      send(res, await runtime.handle({ method: req.method ?? "GET", path: req.url ?? "/", headers: req.headers, body }));
    } catch (error) {
      next(error);
    }
  };
}

export interface Listening {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * Starts an HTTP server for the runtime. Port: `options.port` (0: a free one), else $PORT, else the
 * port of the manifest's runtime.endpointUrl, else 8787. Host: `options.host`, else $HOST, else 127.0.0.1.
 */
export async function listen(runtime: Runtime, options: { port?: number; host?: string } = {}): Promise<Listening> {
  const host = options.host ?? process.env.HOST ?? "127.0.0.1";
  const fromEndpoint = runtime.endpointUrl ? Number(new URL(runtime.endpointUrl).port) || undefined : undefined;
  const wanted = options.port ?? (process.env.PORT ? Number(process.env.PORT) : undefined) ?? fromEndpoint ?? 8787;
  const server = createServer(nodeHandler(runtime));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(wanted, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
