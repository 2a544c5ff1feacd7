/**
 * The oracle: what every answer must be, whatever was sent. No 5xx of the API's own (a provider
 * runtime's failure is a documented 502/504), every error in the documented envelope (the token
 * endpoint: the OAuth format), nothing leaked (stacks, secrets, hashes, private keys, internal
 * paths), and the authorisation expectations of the request.
 */
import type { FuzzRequest } from "./generate";
import type { Operation } from "./spec";

export interface FuzzResponse {
  status: number;
  headers: Record<string, string>;
  /** The body, decompressed. */
  body: Buffer;
  /** Set when no complete answer came: a reset, a timeout. */
  transportError?: string;
}

type FindingKind = "5xx" | "non-envelope" | "leak" | "authz" | "transport";

export interface Verdict {
  kind: FindingKind;
  reason: string;
  /** Who answered: the function's own code (it sets X-Request-Id first), or the serving in front of it. */
  origin: "function" | "serving";
  /** Set when the finding is a known issue that another change fixes (reported, not failing the run). */
  known?: string;
}

export interface OracleContext {
  envelopeCodes: Set<string>;
  oauthCodes: Set<string>;
  /** Values that must never appear in a response unless the request carried them. */
  secrets: string[];
}

/** The documented failures of a provider's runtime (docs/errors.md): 502/504, not the API's fault. */
const PROVIDER_CODES = new Set([
  "PROVIDER_ERROR",
  "PROVIDER_AUTH_FAILED",
  "PROVIDER_UNREACHABLE",
  "PROVIDER_BAD_RESPONSE",
  "PROVIDER_RESPONSE_TOO_LARGE",
  "PROVIDER_TIMEOUT",
]);

/**
 * Known issues fixed elsewhere: a finding that matches one is reported under its name and does not
 * fail the run. Once fixed, the answer passes anyway (a 400 in the envelope); remove the entry then.
 */
export const KNOWN_ISSUES: { id: string; matches: (req: FuzzRequest, res: FuzzResponse, v: Omit<Verdict, "known">) => boolean }[] = [];

/** Patterns that must not appear in any answer (unless the request itself carried the text). */
const LEAK_PATTERNS: { name: string; pattern: RegExp }[] = [
  { name: "stack trace", pattern: /(?:^|\\n|\n)\s*at (?:async )?(?:[\w$.<>[\] ]+ )?\(?(?:\/|file:\/\/|node:|[A-Za-z]:\\)[^\s()"]*:\d+:\d+\)?/ },
  {
    name: "internal path",
    pattern: /(?:\/(?:work|home|srv|workspace|usr\/src|app|root|tmp|var\/task)\/[^\s"'<>]*?\.(?:js|ts|mjs|cjs)\b)|node_modules\//,
  },
  { name: "private key", pattern: /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/ },
  { name: "private JWK member", pattern: /"(?:d|p|q|dp|dq|qi)"\s*:\s*"[A-Za-z0-9_-]{20,}"/ },
  {
    name: "password hash",
    pattern: /\$(?:2[abxy]|argon2(?:id|i|d)|scrypt)\$|"(?:passwordHash|passwordSalt|salt|clientSecretHash|secretHash|password)"\s*:/,
  },
  {
    name: "internal error",
    pattern:
      /\b(?:TypeError|ReferenceError|RangeError|FirebaseError|FirestoreError)\b|\b\d+ (?:FAILED_PRECONDITION|DEADLINE_EXCEEDED|RESOURCE_EXHAUSTED|INVALID_ARGUMENT|ABORTED|UNAVAILABLE|INTERNAL):|Transaction lock timeout/,
  },
];

/** A secret-shaped value; allowed only in the answers of operations that show a secret once. */
const SECRET_VALUE = /\b(?:secret_[0-9A-Za-z]{30,}|whsec_[A-Za-z0-9+/=]{30,})/;

const header = (res: FuzzResponse, name: string) => res.headers[name.toLowerCase()];
const requestText = (req: FuzzRequest) => `${req.path}\n${JSON.stringify(req.headers)}\n${req.body?.toString("utf8") ?? ""}`;

/** Did the function's own code answer (its X-Request-Id), or the serving in front of it? */
const answeredByFunction = (res: FuzzResponse) => /^req_[0-9A-Za-z]{20}$/.test(header(res, "x-request-id") ?? "");

export function leaksIn(text: string, req: FuzzRequest, op: Operation, ctx: OracleContext): string[] {
  const sent = requestText(req);
  const found: string[] = [];
  for (const { name, pattern } of LEAK_PATTERNS) {
    const m = pattern.exec(text);
    // The OpenAPI document describes secrets; an echo of what the request sent is no leak.
    if (m && !sent.includes(m[0]) && !(op.operationId === "getOpenApiDocument" && name !== "private key"))
      found.push(`${name}: ${m[0].slice(0, 120)}`);
  }
  const secretShaped = SECRET_VALUE.exec(text);
  if (
    secretShaped &&
    !(op.returnsSecret && req.method === op.method.toUpperCase()) &&
    !sent.includes(secretShaped[0]) &&
    op.operationId !== "getOpenApiDocument"
  ) {
    found.push(`secret value in ${op.operationId}: ${secretShaped[0].slice(0, 12)}…`);
  }
  for (const secret of ctx.secrets)
    if (text.includes(secret) && !sent.includes(secret)) found.push(`known secret: ${secret.slice(0, 6)}… (${secret.length} chars)`);
  return found;
}

function parseJson(body: Buffer): { ok: true; value: any } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body.toString("utf8")) };
  } catch {
    return { ok: false };
  }
}

/** Why an error answer is not in its documented format, or null when it is. */
export function envelopeProblem(res: FuzzResponse, op: Operation, ctx: OracleContext, oauthPath: boolean): string | null {
  const type = (header(res, "content-type") ?? "").toLowerCase();
  if (!type.startsWith("application/json")) return `Content-Type ${type || "(none)"}, not application/json`;
  const parsed = parseJson(res.body);
  if (!parsed.ok) return "body is not JSON";
  const body = parsed.value;
  if (op.oauthErrors && oauthPath) {
    if (typeof body?.error !== "string" || !ctx.oauthCodes.has(body.error))
      return `OAuth error ${JSON.stringify(body?.error)} is not a documented code`;
    if (typeof body.error_description !== "string") return "OAuth error without error_description";
    return null;
  }
  const error = body?.error;
  if (!error || typeof error !== "object") return "no error object";
  if (typeof error.code !== "string" || !ctx.envelopeCodes.has(error.code))
    return `error.code ${JSON.stringify(error.code)} is not a documented code`;
  if (typeof error.message !== "string" || !error.message) return "no error.message";
  if (typeof error.requestId !== "string" || !/^req_/.test(error.requestId)) return "no error.requestId";
  if (header(res, "x-request-id") !== error.requestId) return `X-Request-Id ${header(res, "x-request-id")} differs from error.requestId`;
  return null;
}

/** Every verdict on one exchange (empty: it passed). */
export function judge(op: Operation, req: FuzzRequest, res: FuzzResponse, ctx: OracleContext): Verdict[] {
  if (res.transportError) return [{ kind: "transport", reason: res.transportError, origin: "serving" }];
  const found: Omit<Verdict, "origin" | "known">[] = [];
  const text = res.body.toString("utf8");
  const fromFunction = answeredByFunction(res);
  const origin = fromFunction ? "" : " (answered before the function: no X-Request-Id)";
  // The token endpoint answers in the OAuth format on its own path only; another method there is a 405 in OAuth format too.
  const oauthPath = op.oauthErrors;

  if (res.status >= 500) {
    const code = parseJson(res.body);
    const errorCode = code.ok ? code.value?.error?.code : undefined;
    const upstream = PROVIDER_CODES.has(errorCode) && (res.status === 502 || res.status === 504);
    if (!upstream) {
      found.push({ kind: "5xx", reason: `${res.status} ${errorCode ?? text.slice(0, 80)}${origin}` });
    }
  }
  if (res.status >= 400) {
    const problem = envelopeProblem(res, op, ctx, oauthPath);
    if (problem) found.push({ kind: "non-envelope", reason: `${res.status}: ${problem}${origin}` });
  } else if (res.status >= 300 || res.status < 200) {
    found.push({ kind: "non-envelope", reason: `unexpected status ${res.status}${origin}` });
  } else if (res.status !== 204 && !(header(res, "content-type") ?? "").startsWith("text/event-stream")) {
    if (!parseJson(res.body).ok) found.push({ kind: "non-envelope", reason: `${res.status} with a body that is not JSON${origin}` });
  }

  const headersText = Object.entries(res.headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n");
  for (const leak of leaksIn(`${headersText}\n${text}`, req, op, ctx)) found.push({ kind: "leak", reason: leak });

  for (const expectation of req.expect) {
    const s = res.status;
    if (expectation === "auth-rejected" && s !== 401 && s !== 429) found.push({ kind: "authz", reason: `${req.token} token answered ${s}, not 401` });
    if (expectation === "not-granted" && s < 300) found.push({ kind: "authz", reason: `${req.token} token was granted ${s}` });
    if (expectation === "cross-tenant" && (s < 300 || s === 403))
      found.push({ kind: "authz", reason: `another tenant's id or token answered ${s} (must be 404)` });
  }
  return found.map((f) => {
    const v = { ...f, origin: fromFunction ? ("function" as const) : ("serving" as const) };
    const known = KNOWN_ISSUES.find((k) => k.matches(req, res, v))?.id;
    return known ? { ...v, known } : v;
  });
}
