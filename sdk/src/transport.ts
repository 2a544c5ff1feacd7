import { AiffinityError, parseRetryAfter } from "./errors.js";

/**
 * The fetch every call goes through: a deadline per attempt, and retries of 429 and 503 answers
 * after the `Retry-After` the API sends (else exponential backoff with jitter), of network
 * failures of requests that are safe to repeat (GET, HEAD, PUT, DELETE) too.
 */

export interface RetryOptions {
  /** Retries after the first attempt (default 3; 0 disables). */
  retries?: number;
  /** Longest wait before a retry; an answer asking for longer is returned as it is (default 60 s). */
  maxDelayMs?: number;
  /** First backoff delay when the API gives no Retry-After (default 500 ms, doubled each time). */
  baseDelayMs?: number;
}

export type Fetch = (input: Request) => Promise<Response>;

const RETRIED_STATUSES = new Set([429, 503]);
const SAFE_METHODS = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);

export function sleep(ms: number, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function backoff(attempt: number, base: number): number {
  const ceiling = base * 2 ** attempt;
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Turns fetch's exceptions into AiffinityErrors with status 0. */
export function networkError(error: unknown, request: Request): AiffinityError {
  const name = (error as { name?: string } | null)?.name;
  if (name === "TimeoutError") return new AiffinityError({ status: 0, code: "TIMEOUT", message: `${request.method} ${request.url} timed out`, cause: error });
  if (name === "AbortError") return new AiffinityError({ status: 0, code: "ABORTED", message: `${request.method} ${request.url} was aborted`, cause: error });
  return new AiffinityError({ status: 0, code: "NETWORK_ERROR", message: `${request.method} ${request.url} failed: ${(error as Error)?.message ?? String(error)}`, cause: error });
}

export function retryingFetch(base: Fetch, options: RetryOptions & { timeoutMs?: number } = {}): Fetch {
  const retries = options.retries ?? 3;
  const maxDelayMs = options.maxDelayMs ?? 60_000;
  const baseDelayMs = options.baseDelayMs ?? 500;
  return async (request) => {
    for (let attempt = 0; ; attempt++) {
      // Each attempt sends a copy, so the original (and its body) stays available for the next one.
      const signal = options.timeoutMs ? AbortSignal.any([request.signal, AbortSignal.timeout(options.timeoutMs)]) : request.signal;
      let response: Response;
      try {
        response = await base(new Request(request.clone(), { signal }));
      } catch (error) {
        const retryable = SAFE_METHODS.has(request.method) && !request.signal.aborted && (error as Error)?.name !== "AbortError";
        if (!retryable || attempt >= retries) throw networkError(error, request);
        await sleep(backoff(attempt, baseDelayMs), request.signal);
        continue;
      }
      if (!RETRIED_STATUSES.has(response.status) || attempt >= retries) return response;
      const after = parseRetryAfter(response.headers.get("retry-after"));
      const delay = after === null ? backoff(attempt, baseDelayMs) : after * 1000;
      if (delay > maxDelayMs) return response;
      await response.body?.cancel().catch(() => undefined);
      await sleep(delay, request.signal);
    }
  };
}

/** A random UUID (v4), also where `crypto.randomUUID` is missing (insecure browser contexts). */
export function uuid(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === "function") return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
