import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { addressProblem, isMetadataHost } from "./addresses";
import { isEmulator } from "./config";
import { log } from "./logger";
import { urlProblem } from "./urls";

/**
 * The one way the platform calls out to provider endpoints (health probes, the providers' OAuth
 * token URLs, webhook deliveries, capability invocations and actions, sandbox runs): a deadline
 * covering the whole exchange, redirects never followed, a cap on the response size, URLs checked
 * against urlProblem (https; loopback only on the emulators) and every address checked against
 * kernel/addresses (no private, link-local, CGNAT, ULA, multicast or metadata targets). Each
 * failure has its own class so callers can record and report it precisely.
 *
 * SSRF and DNS rebinding: a hostname is resolved once, inside the connection's own lookup, every
 * address it resolves to is checked, and the socket connects to the address that was checked;
 * there is no second lookup an attacker's DNS could answer differently.
 */
export type OutboundFailureKind = "url_rejected" | "timeout" | "connection_refused" | "network" | "http_status" | "too_large" | "bad_body";

export class OutboundError extends Error {
  constructor(
    readonly kind: OutboundFailureKind,
    message: string,
    readonly details: { status?: number; durationMs?: number } = {},
  ) {
    super(message);
    this.name = "OutboundError";
  }
}
class OutboundUrlRejectedError extends OutboundError {
  constructor(message: string) {
    super("url_rejected", message);
  }
}
class OutboundTimeoutError extends OutboundError {
  constructor(timeoutMs: number, durationMs: number) {
    super("timeout", `No complete response within ${timeoutMs} ms`, { durationMs });
  }
}
class OutboundConnectionRefusedError extends OutboundError {
  constructor(host: string, durationMs: number) {
    super("connection_refused", `Connection refused by ${host}`, { durationMs });
  }
}
class OutboundNetworkError extends OutboundError {
  constructor(message: string, durationMs: number) {
    super("network", message, { durationMs });
  }
}
class OutboundHttpStatusError extends OutboundError {
  constructor(
    readonly status: number,
    durationMs: number,
  ) {
    super("http_status", `Endpoint answered HTTP ${status}`, { status, durationMs });
  }
}
class OutboundTooLargeError extends OutboundError {
  constructor(limit: number, durationMs: number) {
    super("too_large", `Response body exceeds ${limit} bytes`, { durationMs });
  }
}
class OutboundBadBodyError extends OutboundError {
  constructor(message: string, status?: number) {
    super("bad_body", message, status === undefined ? {} : { status });
  }
}

export interface OutboundRequest {
  url: string;
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  headers?: Record<string, string>;
  body?: string;
  /** Deadline for the whole exchange, body included (default 10 s, at most 30 s). */
  timeoutMs?: number;
  /** Largest response body read (default 1 MiB); larger bodies fail with OutboundTooLargeError. */
  maxResponseBytes?: number;
  /** How host names are resolved (default: the system resolver); every address is checked either way. */
  resolver?: Resolver;
  /**
   * Whether the request may be sent again after a connection reset, when it may already have
   * reached the endpoint: true for reads, and for calls the endpoint deduplicates (an
   * `Idempotency-Key`). Default: only GET. Otherwise a reset after sending fails as `network`
   * with an unknown outcome, never a second delivery.
   */
  resendable?: boolean;
}

export interface OutboundResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  durationMs: number;
  text(): string;
  /** The body parsed as JSON; OutboundBadBodyError if it is not. */
  json(): unknown;
}

const MAX_TIMEOUT_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BYTES = 1024 * 1024;
const USER_AGENT = "Aiffinity-Platform/1.0 (+https://api.aiffinity.me)";

/** Loopback targets are for the emulators only. */
const policy = () => ({ allowLoopback: isEmulator() });

/** Refused by the address check inside the connection's lookup (surfaces as OutboundUrlRejectedError). */
class BlockedAddressError extends Error {
  readonly code = "ERR_OUTBOUND_ADDRESS_BLOCKED";
}

/** Target checks before any connection is made: the URL itself, metadata host names and IP literals. */
export async function checkTarget(url: string): Promise<URL> {
  const problem = urlProblem(url);
  if (problem) throw new OutboundUrlRejectedError(`${problem}: ${safeUrl(url)}`);
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, "");
  if (isMetadataHost(host)) throw new OutboundUrlRejectedError(`${host} is the cloud metadata service: ${safeUrl(url)}`);
  // IP literals are never looked up (the socket connects to them directly): check them here.
  if (isIP(host)) {
    const blocked = addressProblem(host, policy());
    if (blocked) throw new OutboundUrlRejectedError(`Target address not allowed: ${blocked}`);
  }
  return target;
}

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))),
  );

/**
 * Resolves `hostname` and checks every address it has; refuses the name if any of them is not
 * allowed (a name with one private address among public ones is refused as a whole).
 */
export async function resolveAllowed(
  hostname: string,
  resolver: Resolver = systemResolver,
  allowLoopback = policy().allowLoopback,
): Promise<LookupAddress[]> {
  if (isMetadataHost(hostname)) throw new BlockedAddressError(`${hostname} is the cloud metadata service`);
  const addresses = await resolver(hostname);
  if (addresses.length === 0) throw Object.assign(new Error(`${hostname} has no addresses`), { code: "ENOTFOUND" });
  for (const { address } of addresses) {
    const problem = addressProblem(address, { allowLoopback });
    if (problem) throw new BlockedAddressError(`${hostname} resolves to a forbidden address: ${problem}`);
  }
  return addresses;
}

/** The sockets' lookup: the checked addresses are the ones connected to. */
const guardedLookup = (resolver: Resolver) =>
  ((hostname: string, options: { all?: boolean; family?: number }, callback: (...args: unknown[]) => void) => {
    resolveAllowed(hostname, resolver).then(
      (addresses) => {
        const family = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = family ? addresses.filter((a) => a.family === family) : addresses;
        if (usable.length === 0) return callback(Object.assign(new Error(`${hostname} has no IPv${family} address`), { code: "ENOTFOUND" }));
        if (options.all) callback(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
      (error: unknown) => callback(error),
    );
  }) as unknown as LookupFunction;

// Keep-alive pools (connections are reused per host and port; every new connection goes through guardedLookup).
// Idle sockets are closed after 4 s, before common servers' keep-alive timeouts (Node's 5 s), so a
// reused socket is rarely one the server is closing: such a reset is no longer resent blindly.
const POOL = { keepAlive: true, maxSockets: 64, timeout: 4_000 };
const agents = { "http:": new http.Agent(POOL), "https:": new https.Agent(POOL) };

/** A URL without its query (which may carry tokens), for messages and logs. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function blockedCause(error: unknown): BlockedAddressError | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current instanceof BlockedAddressError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A request that failed after it may have reached the endpoint (it was written on a connection that then reset). */
class MayHaveArrivedError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = "MayHaveArrivedError";
  }
}

function send(
  target: URL,
  headers: Record<string, string>,
  request: OutboundRequest,
  signal: AbortSignal,
  resendable: boolean,
  afterReset = false,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = target.protocol === "https:" ? https : http;
    const lookup = guardedLookup(request.resolver ?? systemResolver);
    const req = client.request(
      target,
      { method: request.method ?? "GET", headers, agent: agents[target.protocol as "http:" | "https:"], lookup, signal },
      resolve,
    );
    req.on("error", (error) => {
      const code = causeCode(error);
      // A reset pooled connection: the server may have closed it before reading the request, or read
      // it and died. Only a request the endpoint can deduplicate is sent again (same headers, same key).
      if (resendable && !afterReset && req.reusedSocket && code === "ECONNRESET") {
        log.outboundRetried(target.host, "reused connection reset");
        resolve(send(target, headers, request, signal, resendable, true));
      } else if (afterReset || code === "ECONNRESET" || code === "EPIPE") {
        const what = afterReset ? `resent after a reset, then failed${code ? ` (${code})` : ""}` : "connection reset after the request was sent";
        reject(new MayHaveArrivedError(`Request to ${target.host} ${what}: it may have reached the endpoint (outcome unknown)`, code));
      } else reject(error);
    });
    req.end(request.body);
  });
}

function toHeaders(message: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      try {
        headers.append(name, v);
      } catch {
        /* a header value fetch's Headers refuses: not needed by any caller */
      }
    }
  }
  return headers;
}

/** Sends the request and reads the response within the deadline. Any HTTP status resolves. */
export async function outbound(request: OutboundRequest): Promise<OutboundResponse> {
  const target = await checkTarget(request.url);
  const timeoutMs = Math.min(request.timeoutMs ?? DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS);
  const maxBytes = request.maxResponseBytes ?? DEFAULT_MAX_BYTES;
  const controller = new AbortController();
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    const headers: Record<string, string> = { "user-agent": USER_AGENT, ...(request.headers ?? {}) };
    if (request.body !== undefined) headers["content-length"] = String(Buffer.byteLength(request.body));
    const resendable = request.resendable ?? (request.method ?? "GET") === "GET";
    const response = await send(target, headers, request, controller.signal, resendable);
    const declared = Number(response.headers["content-length"] ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      controller.abort();
      throw new OutboundTooLargeError(maxBytes, elapsed());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response as AsyncIterable<Buffer>) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        controller.abort();
        throw new OutboundTooLargeError(maxBytes, elapsed());
      }
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    const durationMs = elapsed();
    const status = response.statusCode ?? 0;
    return {
      status,
      headers: toHeaders(response),
      body,
      durationMs,
      text: () => body.toString("utf8"),
      json: () => {
        try {
          return JSON.parse(body.toString("utf8"));
        } catch {
          throw new OutboundBadBodyError(`Response body is not valid JSON (${body.length} bytes)`, status);
        }
      },
    };
  } catch (error) {
    if (error instanceof OutboundError) throw error;
    if (timedOut) throw new OutboundTimeoutError(timeoutMs, elapsed());
    const blocked = blockedCause(error);
    if (blocked) throw new OutboundUrlRejectedError(`Target address not allowed: ${blocked.message}`);
    // Not "connection refused" even when the resend was refused: the first attempt may have arrived.
    if (error instanceof MayHaveArrivedError) throw new OutboundNetworkError(error.message, elapsed());
    const code = causeCode(error);
    if (code === "ECONNREFUSED") throw new OutboundConnectionRefusedError(target.host, elapsed());
    throw new OutboundNetworkError(`Request to ${target.host} failed${code ? ` (${code})` : ""}`, elapsed());
  } finally {
    clearTimeout(timer);
  }
}

/** Like outbound, but only a 2xx answer resolves; anything else is an OutboundHttpStatusError. */
export async function outboundOk(request: OutboundRequest): Promise<OutboundResponse> {
  const response = await outbound(request);
  if (response.status < 200 || response.status > 299) throw new OutboundHttpStatusError(response.status, response.durationMs);
  return response;
}
