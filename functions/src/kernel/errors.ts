/**
 * The error catalogue: every code the API can answer with, its HTTP status and when it happens.
 * docs/errors.md is checked against this list by a test, so the two cannot drift apart.
 */
export const ERROR_CATALOGUE = {
  VALIDATION_ERROR: {
    status: 400,
    when: "A body, query or path field is missing, has the wrong type or value, or the body has a field the endpoint does not accept. The message names every offending field.",
  },
  INVALID_JSON: { status: 400, when: "The body was sent as application/json but is not valid JSON." },
  WEAK_PASSWORD: { status: 400, when: "The password does not meet the password policy (docs/errors.md#weak_password)." },
  VERIFICATION_TOKEN_INVALID: { status: 400, when: "The e-mail verification token is unknown (mistyped, or never issued)." },
  VERIFICATION_TOKEN_EXPIRED: { status: 400, when: "The e-mail verification token is older than 24 hours; request a new e-mail." },
  UNAUTHENTICATED: {
    status: 401,
    when: "No credentials, or credentials that are malformed, expired, revoked or wrong. The WWW-Authenticate header says which scheme to use.",
  },
  INVALID_CREDENTIALS: {
    status: 401,
    when: "Login failed: the e-mail and password do not match an account. Unknown e-mails and wrong passwords answer the same.",
  },
  FORBIDDEN: { status: 403, when: "Authenticated, but not allowed to do this (for example a reviewer-only route)." },
  ACCOUNT_NOT_VERIFIED: { status: 403, when: "The developer account has not verified its e-mail address yet; verify it, then retry." },
  INSTALL_REQUIRED: { status: 403, when: "Only users who have the package installed may do this (rating it); install it first." },
  NOT_FOUND: { status: 404, when: "No such route, or no such resource visible to the caller. Another account's ids answer 404, never 403." },
  METHOD_NOT_ALLOWED: { status: 405, when: "The path exists but not with this method. The Allow header lists the methods it accepts." },
  CONFLICT: {
    status: 409,
    when: "The request conflicts with the current state: a duplicate (e-mail, slug), an illegal state transition, or another write to the same resource in progress (Retry-After).",
  },
  VERIFICATION_TOKEN_USED: { status: 409, when: "The e-mail verification token was already used." },
  ACCOUNT_ALREADY_VERIFIED: { status: 409, when: "The account's e-mail address is already verified." },
  PACKAGE_NOT_INSTALLABLE: {
    status: 409,
    when: "The package is listed but takes no new installs: its provider's app was deleted (it leaves the catalog after 30 days).",
  },
  RUNTIME_NOT_AVAILABLE: {
    status: 409,
    when: "The capability's runtime app is paused or not registered, so the platform does not call it. The invocation is recorded (error class runtime_paused).",
  },
  RUNTIME_ENDPOINT_REJECTED: {
    status: 409,
    when: "The runtime's endpoint (or its OAuth token URL) is not an allowed target: it resolves to a private, loopback, link-local or metadata address. Nothing was sent.",
  },
  IDEMPOTENCY_KEY_IN_USE: {
    status: 409,
    when: "A request with this Idempotency-Key is still running and did not finish while this one waited; retry later.",
  },
  PRECONDITION_FAILED: {
    status: 412,
    when: "The If-Match header does not match the resource's current ETag: someone changed it since you read it. GET it again, reapply your change, retry.",
  },
  PAYLOAD_TOO_LARGE: { status: 413, when: "The request body is larger than the endpoint accepts (1 MiB unless the endpoint says otherwise)." },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, when: "The body is not application/json (or, for the token endpoint, application/x-www-form-urlencoded)." },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    when: "The Idempotency-Key was already used (within 24 hours) with a different request; use a new key for a new request.",
  },
  RATE_LIMITED: { status: 429, when: "Too many requests: the plan's rate limit, or repeated failed logins. Retry-After says when to retry." },
  INTERNAL: { status: 500, when: "An unexpected error on our side. It is logged with the request id; quote the id when contacting support." },
  PROVIDER_ERROR: {
    status: 502,
    when: "The provider's runtime answered with an error status (4xx or 5xx; class http_4xx or http_5xx). The invocation is recorded.",
  },
  PROVIDER_AUTH_FAILED: {
    status: 502,
    when: "The platform could not authenticate to the runtime: its OAuth token URL failed, or the runtime answered 401 or 403 (class auth_failed).",
  },
  PROVIDER_UNREACHABLE: { status: 502, when: "The runtime refused the connection or could not be reached (classes connection_refused, network)." },
  PROVIDER_BAD_RESPONSE: {
    status: 502,
    when: "The runtime answered 2xx with a body that breaks the contract: not JSON, no data or result, or data not matching the capability's outputSchema (classes bad_body, output_invalid).",
  },
  PROVIDER_RESPONSE_TOO_LARGE: {
    status: 502,
    when: "The runtime's response exceeded the size limit (1 MiB for invocations, 512 KiB for actions; class too_large).",
  },
  SERVICE_UNAVAILABLE: { status: 503, when: "A dependency (identity service, database) is temporarily unavailable; retry with backoff." },
  PROVIDER_TIMEOUT: { status: 504, when: "The runtime did not answer within the capability's deadline (class timeout). The invocation is recorded." },
  GATEWAY_TIMEOUT: {
    status: 504,
    when: "The request outlived its function's timeout (60 s; 3600 s for the Capabilities API) and was ended in front of the function. Its effects may or may not have happened.",
  },
} as const satisfies Record<string, { status: number; when: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ErrorDetail {
  field: string;
  message: string;
  code?: string;
}

export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly options: {
      headers?: Record<string, string>;
      details?: ErrorDetail[];
      cause?: unknown;
      /** The OAuth error code (RFC 6749 §5.2) when the route answers in the OAuth format. */
      oauthError?: OAuthErrorCode;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ApiError";
    this.status = ERROR_CATALOGUE[code].status;
  }
}

/** Error codes of RFC 6749 §5.2 (and `server_error`/`temporarily_unavailable` for our own failures). */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "server_error"
  | "temporarily_unavailable";

/** The OAuth code a kernel error becomes on an OAuth-format route. */
export function oauthErrorOf(error: ApiError): OAuthErrorCode {
  if (error.options.oauthError) return error.options.oauthError;
  switch (error.code) {
    case "UNAUTHENTICATED":
    case "INVALID_CREDENTIALS":
      return "invalid_client";
    case "FORBIDDEN":
      return "unauthorized_client";
    case "RATE_LIMITED":
    case "SERVICE_UNAVAILABLE":
      return "temporarily_unavailable";
    case "INTERNAL":
      return "server_error";
    default:
      return "invalid_request";
  }
}

export const notFound = (what: string, id?: string) =>
  new ApiError("NOT_FOUND", id === undefined ? `${what} not found` : `No ${what} with id '${id}'`);

export const conflict = (message: string) => new ApiError("CONFLICT", message);

export const forbidden = (message: string) => new ApiError("FORBIDDEN", message);

/** Keeps handlers flat: `assert(app, notFound("app", id))`. */
export function assert(condition: unknown, error: ApiError): asserts condition {
  if (!condition) throw error;
}
