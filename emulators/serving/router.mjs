// The router in front of the serving pool, on the API's base URL: Hosting's function rewrites (in
// order, with Hosting's glob semantics) and the functions' direct URLs go to the pool; everything
// else (the console, static files, the `**` → /index.html rewrite) to the Hosting emulator. Every
// path is normalised first (RFC 3986: dot segments, `//`), and routed and forwarded as normalised;
// each request routed to a function gets the function's timeout. Errors of its own are answered in
// the API's envelope (docs/errors.md).
import { randomInt } from "node:crypto";
import { createServer, request as httpRequest } from "node:http";
import { keepAliveAgent, PoolError, PoolRequest, RequestTimeout } from "./pool.mjs";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const requestId = () => `req_${Array.from({ length: 20 }, () => BASE62[randomInt(62)]).join("")}`;
// Hop-by-hop headers (RFC 9110 7.6.1) are the proxy's own, never forwarded.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization", "proxy-authenticate"]);
export const STATUS_PATH = "/__serving/status";
const MAX_REQUEST_BYTES = 32 * 1024 * 1024;

function forwardedHeaders(req, extra = {}) {
  const headers = {};
  for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
  const client = req.socket.remoteAddress ?? "";
  headers["x-forwarded-for"] = req.headers["x-forwarded-for"] ? `${req.headers["x-forwarded-for"]}, ${client}` : client;
  headers["x-forwarded-host"] ??= req.headers.host ?? "";
  headers["x-forwarded-proto"] ??= "http";
  return { ...headers, ...extra };
}

function responseHeaders(upstream) {
  const headers = {};
  for (const [name, value] of Object.entries(upstream.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
  return headers;
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * A request path as the router routes and forwards it, or null when it climbs above the root.
 * RFC 3986 6.2.2: percent-encoded unreserved characters decoded (`%2e` is `.`), then `//` merged into
 * `/` (Hosting ignores empty segments) and the dot segments removed (5.2.4). A `..` above the root
 * is refused, as nginx and Apache refuse it, rather than silently dropped. Other percent-encodings,
 * `%2f` among them, stay as they are: an encoded slash is part of its segment, never a separator.
 */
export function normalisePath(pathname) {
  const decoded = pathname.replace(/%([0-9A-Fa-f]{2})/g, (escape, hex) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : escape;
  });
  const segments = decoded.replace(/\/{2,}/g, "/").split("/").slice(1);
  const out = [];
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    if (segment === "." || segment === "..") {
      if (segment === "..") {
        if (!out.length) return null;
        out.pop();
      }
      // A final dot segment leaves a directory: `/a/b/..` is `/a/`.
      if (last) out.push("");
      continue;
    }
    out.push(segment);
  }
  return `/${out.join("/")}`;
}

/** The token endpoint answers errors in OAuth's format (RFC 6749 5.2), as its function does. */
const OAUTH_PATH = "/v1/providers/auth/token";
const oauthErrorOf = (status) => (status === 503 ? "temporarily_unavailable" : status >= 500 ? "server_error" : "invalid_request");

/** The error envelope, as the functions answer it (SERVICE_UNAVAILABLE: retry with backoff). */
function sendEnvelope(res, status, code, message, headers = {}) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const id = requestId();
  const body = JSON.stringify(
    (res.routedPath ?? res.req?.url?.split("?")[0]) === OAUTH_PATH
      ? { error: oauthErrorOf(status), error_description: message }
      : { error: { code, message, requestId: id } },
  );
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    "x-request-id": id,
    "access-control-allow-origin": "*",
    "access-control-expose-headers": "X-Request-Id, Retry-After",
    ...headers,
  });
  res.end(body);
}

/**
 * @param {object} options pool (a started Pool), events (an EventDispatcher, for the status page; or null), hosting (hostingRules), projectId,
 *   hostingUpstream ({host, port} of the Hosting emulator, or null), log, hostingTimeoutSeconds:
 *   Firebase Hosting ends a request it rewrote to a function after 60 s (504),
 * whatever the function's own timeout; the direct URLs have only the function's.
 */
export function createRouter({ pool, events = null, hosting, projectId, hostingUpstream, log, hostingTimeoutSeconds = 60 }) {
  const hostingAgent = keepAliveAgent();

  /** Which function serves a path: a direct function URL, or Hosting's rewrites. */
  function resolve(pathname, search) {
    const direct = /^\/([^/]+)\/([^/]+)\/([^/]+)(\/.*)?$/.exec(pathname);
    if (direct && direct[1] === projectId && pool.has(direct[3]) && pool.regionsOf(direct[3]).includes(direct[2])) {
      return { function: direct[3], path: (direct[4] ?? "/") + search, headers: {} };
    }
    // `pathname` is normalised already (normalisePath: no dot segments left).
    const route = hosting.route(pathname);
    if (route.function) return { function: route.function, region: route.region, path: pathname + search, headers: hosting.headersFor(pathname), rewritten: true };
    return { hosting: true };
  }

  function proxyToFunction(req, res, target) {
    if (!pool.has(target.function)) {
      sendEnvelope(res, 404, "NOT_FOUND", `No function ${target.function} is served here`);
      return;
    }
    // Cloud Functions takes request bodies up to 32 MiB; the framework itself would buffer any size.
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > MAX_REQUEST_BYTES) {
      sendEnvelope(res, 413, "PAYLOAD_TOO_LARGE", `Request body is ${declared} bytes; a function accepts at most ${MAX_REQUEST_BYTES} bytes`, { connection: "close" });
      req.resume();
      return;
    }
    let upstream = null;
    let finished = false;
    const poolRequest = new PoolRequest({
      method: req.method,
      path: target.path.split("?")[0],
      dispatch(instance) {
        // Cloud Run ends a request that outlives the function's timeout (its front end answers 504);
        // the function's code is not stopped, but its slot is free for the next request. Hosting
        // ends a rewritten one at its own limit first when that is shorter.
        const functionSeconds = pool.timeoutOf(target.function);
        const byHosting = target.rewritten === true && hostingTimeoutSeconds < functionSeconds;
        const timeoutSeconds = byHosting ? hostingTimeoutSeconds : functionSeconds;
        const message = byHosting
          ? `Hosting ends a rewritten request after ${timeoutSeconds} s (${target.function}'s own timeout is ${functionSeconds} s: call its function URL for longer requests)`
          : `${target.function} did not answer within its ${timeoutSeconds} s timeout`;
        poolRequest.deadline = setTimeout(() => poolRequest.fail(new RequestTimeout(message)), timeoutSeconds * 1000);
        upstream = httpRequest({
          host: "127.0.0.1",
          port: instance.port,
          method: req.method,
          path: target.path,
          headers: forwardedHeaders(req),
          agent: instance.agent,
        });
        upstream.on("response", (answer) => {
          const headers = { ...target.headers, ...responseHeaders(answer), "x-serving-instance": instance.name };
          // An instance answering its own crash page (the framework's `X-Google-Status: crash`) is
          // a failed instance: the client gets the envelope, as for one that died.
          if (answer.headers["x-google-status"] === "crash") {
            answer.resume();
            poolRequest.fail(new PoolError(`The instance serving this request crashed; retry.`));
            return;
          }
          res.writeHead(answer.statusCode, answer.statusMessage, headers);
          // Streams (Server-Sent Events) pass through as they come: headers at once, no buffering.
          if (answer.headers["content-length"] === undefined) res.flushHeaders();
          answer.pipe(res);
          answer.on("end", () => {
            finished = true;
            pool.release(poolRequest, true);
          });
          // Cut off mid-answer (the instance died): the client's connection is cut too.
          answer.on("close", () => {
            if (!answer.complete) poolRequest.fail(new PoolError("The instance serving this request stopped mid-answer"));
          });
        });
        upstream.on("error", (error) => {
          if (poolRequest.done) return; // the client left, or the request already failed
          // No answer and a broken connection: the instance is likely gone; stop routing to it now.
          if (!res.headersSent) instance.suspect();
          poolRequest.fail(new PoolError(`The instance serving this request stopped (${error.code ?? error.message}); retry.`));
        });
        req.pipe(upstream);
      },
      fail(error) {
        pool.release(poolRequest);
        upstream?.destroy();
        // A stream that outlives the timeout is cut (its headers are sent): the client reconnects.
        if (error instanceof RequestTimeout) {
          sendEnvelope(res, 504, "GATEWAY_TIMEOUT", `${error.message}; the request was ended.`);
        } else if (error instanceof PoolError) {
          sendEnvelope(res, 503, "SERVICE_UNAVAILABLE", error.message, { "retry-after": String(error.retryAfterSeconds) });
        } else {
          sendEnvelope(res, 503, "SERVICE_UNAVAILABLE", `The instance serving this request failed (${error.code ?? error.message}); retry.`, { "retry-after": "1" });
        }
      },
    });
    // A client that leaves frees its place (queued) or its instance's slot (in flight).
    res.on("close", () => {
      if (finished || poolRequest.done) return;
      poolRequest.done = true;
      upstream?.destroy();
      pool.release(poolRequest);
    });
    res.socket?.setNoDelay(true);
    pool.submit(target.function, poolRequest);
  }

  function proxyToHosting(req, res, path) {
    if (!hostingUpstream) {
      sendEnvelope(res, 404, "NOT_FOUND", `Nothing is served at ${path.split("?")[0]} here`);
      return;
    }
    const upstream = httpRequest({ ...hostingUpstream, method: req.method, path, headers: forwardedHeaders(req, { host: req.headers.host ?? "" }), agent: hostingAgent });
    upstream.on("response", (answer) => {
      res.writeHead(answer.statusCode, answer.statusMessage, responseHeaders(answer));
      answer.pipe(res);
    });
    upstream.on("error", (error) => sendEnvelope(res, 503, "SERVICE_UNAVAILABLE", `Hosting is not answering (${error.code ?? error.message}); retry.`, { "retry-after": "1" }));
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  }

  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    // The absolute form (`GET http://host/path`, RFC 9112 3.2.2) names the same resource as its path.
    let url = req.url ?? "/";
    const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(url);
    if (absolute) url = `/${url.slice(absolute[0].length).replace(/^\//, "")}`;
    const queryAt = url.indexOf("?");
    const raw = queryAt < 0 ? url : url.slice(0, queryAt);
    const search = queryAt < 0 ? "" : url.slice(queryAt);
    const pathname = raw.startsWith("/") ? normalisePath(raw) : null;
    if (pathname === null) {
      const why = raw.startsWith("/") ? "climbs above the root (`..`)" : "does not start with `/`";
      sendEnvelope(res, 400, "VALIDATION_ERROR", `The request path ${why}`);
      req.resume();
      return;
    }
    res.routedPath = pathname;
    if (pathname === STATUS_PATH) {
      const body = JSON.stringify({ ...pool.status(), hostingTimeoutSeconds, events: events?.status() ?? null, rewrites: hosting.functionRewrites }, null, 2);
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
      res.end(body);
      return;
    }
    let target;
    try {
      target = resolve(pathname, search);
    } catch (error) {
      log(`[router] cannot route ${pathname}: ${error.message}`);
      sendEnvelope(res, 500, "INTERNAL", "The request could not be routed");
      return;
    }
    if (target.hosting) proxyToHosting(req, res, pathname + search);
    else proxyToFunction(req, res, target);
  });
  server.on("clientError", (error, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  return server;
}
