import type { ApiErrorCode } from "./types.js";

export interface ErrorDetail {
  field: string;
  message: string;
  code?: string;
}

/**
 * Every failure of a call: an error answer of the API (its envelope's `code`, `message`,
 * `requestId`, `details`), an OAuth error of the token endpoint (`code` is its `error`), or a
 * failure before any answer (`status` 0: `NETWORK_ERROR`, `TIMEOUT`, `ABORTED`, `CLIENT_CONFIGURATION`).
 * Branch on `code`, never on `message` (docs/errors.md).
 */
export class AiffinityError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly requestId: string | null;
  readonly details: ErrorDetail[];
  /** Seconds the API asked to wait (429 and 503), when it said. */
  readonly retryAfterSeconds: number | null;
  /** The parsed body of the error answer, when there was one. */
  readonly body: unknown;

  constructor(init: { status: number; code: ApiErrorCode; message: string; requestId?: string | null; details?: ErrorDetail[]; retryAfterSeconds?: number | null; body?: unknown; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "AiffinityError";
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId ?? null;
    this.details = init.details ?? [];
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
    this.body = init.body;
  }

  /** Builds the error of an answer that is not 2xx. */
  static async fromResponse(response: Response): Promise<AiffinityError> {
    const text = await response.text().catch(() => "");
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text || undefined;
    }
    return AiffinityError.fromBody(response, body);
  }

  /** Builds the error of an answer that is not 2xx whose body was already read (JSON, or text). */
  static fromBody(response: Pick<Response, "status" | "headers">, body: unknown): AiffinityError {
    const requestId = response.headers.get("x-request-id");
    const retryAfterSeconds = parseRetryAfter(response.headers.get("retry-after"));
    const envelope = (body as { error?: unknown } | undefined)?.error;
    if (envelope && typeof envelope === "object") {
      const e = envelope as { code?: string; message?: string; requestId?: string; details?: ErrorDetail[] };
      return new AiffinityError({ status: response.status, code: e.code ?? "UNKNOWN", message: e.message ?? `HTTP ${response.status}`, requestId: e.requestId ?? requestId, details: e.details, retryAfterSeconds, body });
    }
    if (typeof envelope === "string") {
      // OAuth 2.1 errors of the token endpoint: {"error": "invalid_client", "error_description": "..."}.
      const description = (body as { error_description?: string }).error_description;
      return new AiffinityError({ status: response.status, code: envelope, message: description ?? envelope, requestId, retryAfterSeconds, body });
    }
    const text = typeof body === "string" ? body : body === undefined ? "" : JSON.stringify(body);
    return new AiffinityError({ status: response.status, code: "UNKNOWN", message: `HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ""}`, requestId, retryAfterSeconds, body });
  }
}

/** `Retry-After` in seconds (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}
