import { urlProblem } from "./urls";

/**
 * The one way the platform calls out to provider endpoints (health probes, the providers' OAuth
 * token URLs, webhook deliveries; capability invocations next): a deadline covering the whole
 * exchange, redirects never followed, a cap on the response size, and URLs checked against
 * urlProblem (https; loopback only on the emulators). Each failure has its own class so callers can
 * record and report it precisely. `checkTarget` is the single place where further target checks
 * (DNS resolution against private ranges) plug in.
 */
export type OutboundFailureKind =
  | "url_rejected"
  | "timeout"
  | "connection_refused"
  | "network"
  | "http_status"
  | "too_large"
  | "bad_body";

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
export class OutboundUrlRejectedError extends OutboundError {
  constructor(message: string) {
    super("url_rejected", message);
  }
}
export class OutboundTimeoutError extends OutboundError {
  constructor(timeoutMs: number, durationMs: number) {
    super("timeout", `No complete response within ${timeoutMs} ms`, { durationMs });
  }
}
export class OutboundConnectionRefusedError extends OutboundError {
  constructor(host: string, durationMs: number) {
    super("connection_refused", `Connection refused by ${host}`, { durationMs });
  }
}
export class OutboundNetworkError extends OutboundError {
  constructor(message: string, durationMs: number) {
    super("network", message, { durationMs });
  }
}
export class OutboundHttpStatusError extends OutboundError {
  constructor(readonly status: number, durationMs: number) {
    super("http_status", `Endpoint answered HTTP ${status}`, { status, durationMs });
  }
}
export class OutboundTooLargeError extends OutboundError {
  constructor(limit: number, durationMs: number) {
    super("too_large", `Response body exceeds ${limit} bytes`, { durationMs });
  }
}
export class OutboundBadBodyError extends OutboundError {
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

export const MAX_TIMEOUT_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BYTES = 1024 * 1024;
const USER_AGENT = "Aiffinity-Platform/1.0 (+https://api.aiffinity.me)";

/** Target checks before any connection is made. Async so DNS-based checks can join later. */
export async function checkTarget(url: string): Promise<URL> {
  const problem = urlProblem(url);
  if (problem) throw new OutboundUrlRejectedError(`${problem}: ${safeUrl(url)}`);
  return new URL(url);
}

/** A URL without its query (which may carry tokens), for messages and logs. */
export function safeUrl(url: string): string {
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
    const response = await fetch(target, {
      method: request.method ?? "GET",
      headers,
      body: request.body,
      redirect: "manual",
      signal: controller.signal,
    });
    const declared = Number(response.headers.get("content-length") ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      controller.abort();
      throw new OutboundTooLargeError(maxBytes, elapsed());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    if (response.body) {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (size > maxBytes) {
          controller.abort();
          throw new OutboundTooLargeError(maxBytes, elapsed());
        }
        chunks.push(Buffer.from(chunk));
      }
    }
    const body = Buffer.concat(chunks);
    const durationMs = elapsed();
    return {
      status: response.status,
      headers: response.headers,
      body,
      durationMs,
      text: () => body.toString("utf8"),
      json: () => {
        try {
          return JSON.parse(body.toString("utf8"));
        } catch {
          throw new OutboundBadBodyError(`Response body is not valid JSON (${body.length} bytes)`, response.status);
        }
      },
    };
  } catch (error) {
    if (error instanceof OutboundError) throw error;
    if (timedOut) throw new OutboundTimeoutError(timeoutMs, elapsed());
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
